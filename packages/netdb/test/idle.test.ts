import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHub, defaultNetdbTuning, type PubSub } from '../src/index.js'
import { entry, FakeClock, line, NET, settle, startOn, startPair, stopStarted, view } from './helpers.js'

// the default periods, without jitter so the counts are exact
const tuning = { digestJitter: 0, syncCoalesceMs: 0 }

afterEach(stopStarted)

describe('digests when idle (fake clock, default periods)', () => {
  it('back off to the idle period, and a change brings the next one within the fast period', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const [a, b] = await startPair(clock, hub, tuning)
    await a.setLocal(NET, [entry(1, 1)])
    await a.join(NET)
    await b.join(NET)
    await settle()

    const { digestIntervalMs: fast, digestIdleIntervalMs: idle } = defaultNetdbTuning
    expect(idle).toBeGreaterThan(fast)
    await clock.advance(60_000)
    // fast, then doubling up to the idle period: 1 + 2 + 4 + 8 s, then one per 8 s
    const idleDigests = a.stats().digestsSent
    expect(idleDigests).toBeLessThanOrEqual(4 + Math.ceil(60_000 / idle))
    expect(idleDigests).toBeGreaterThanOrEqual(Math.floor(60_000 / idle))

    // a change lost on its way to b: a's digest follows within one fast period and repairs it
    hub.filter = (d) => !(d.from === 'a' && new TextDecoder().decode(d.data).includes('"entries"'))
    await a.setLocal(NET, [entry(1, 1), entry(2, 1)])
    await settle()
    hub.filter = undefined
    expect(view(b)).toEqual([line('a', entry(1, 1))])
    await clock.advance(fast)
    await settle()
    expect(a.stats().digestsSent).toBe(idleDigests + 1)
    expect(view(b)).toEqual([line('a', entry(1, 1)), line('a', entry(2, 1))])
  })

  it('after a partition, the first digest across it brings the other side’s within one fast period', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const [a, b] = await startPair(clock, hub, tuning)
    await a.join(NET)
    await b.join(NET)
    hub.partition(['a'], ['b'])
    await a.setLocal(NET, [entry(1, 1)])
    await clock.advance(3_000) // b's digests run 3 s out of phase with a's
    await b.setLocal(NET, [entry(2, 2)])
    await clock.advance(60_000) // both backed off to the idle period
    hub.heal()
    const { digestIntervalMs: fast } = defaultNetdbTuning
    const mismatches = () => a.stats().digestMismatches + b.stats().digestMismatches
    let crossed: number | undefined
    const want = [line('a', entry(1, 1)), line('b', entry(2, 2))].join('\n')
    for (let t = 0; t < 20_000; t += 100) {
      await clock.advance(100)
      if (crossed === undefined && mismatches() > 0) crossed = t
      if (view(a).join('\n') === want && view(b).join('\n') === want) {
        expect(crossed).toBeDefined()
        expect(t - (crossed ?? 0)).toBeLessThanOrEqual(fast + 200)
        return
      }
    }
    throw new Error(`not converged: a sees ${view(a)}, b sees ${view(b)}`)
  })

  it('a change made while a digest is being published still brings the next one within the fast period', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const inner = hub.pubsub('a')
    let hold: Promise<void> | undefined
    const pubsub: PubSub = {
      subscribe: (topic, handler) => inner.subscribe(topic, handler),
      unsubscribe: (topic) => inner.unsubscribe(topic),
      async publish(topic, data, options) {
        if (new TextDecoder().decode(data).includes('"digest"')) await hold // a slow signature, say
        return inner.publish(topic, data, options)
      },
    }
    const a = await startOn(clock, 'a', pubsub, tuning)
    await a.setLocal(NET, [entry(1, 1)])
    await a.join(NET)
    await clock.advance(60_000) // backed off to the idle period
    const { digestIntervalMs: fast, digestIdleIntervalMs: idle } = defaultNetdbTuning
    let release = () => {}
    hold = new Promise((r) => {
      release = r
    })
    const sent = a.stats().digestsSent
    await clock.advance(idle) // the next digest starts and is held
    expect(a.stats().digestsSent).toBe(sent + 1)
    await a.setLocal(NET, [entry(1, 1), entry(2, 1)])
    hold = undefined
    release()
    await settle()
    await clock.advance(fast)
    expect(a.stats().digestsSent).toBe(sent + 2)
  })
})
