import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHub, type MemoryHub, type Netdb } from '../src/index.js'
import { entry, FakeClock, line, NET, settle, startPair, stopStarted, view } from './helpers.js'

const TOPIC = '/swarmnet/net/net1/1.0.0'

// one digest per second, no jitter; tombstones (and so a leaver's empty digests) live 10 s
const tuning = {
  digestIntervalMs: 1_000,
  digestIdleIntervalMs: 1_000,
  digestJitter: 0,
  syncBackoffMs: 500,
  syncCoalesceMs: 0,
  tombstoneTtlMs: 10_000,
  ownerExpiryMs: 0,
}

afterEach(stopStarted)

async function pair(clock: FakeClock, hub: MemoryHub): Promise<[Netdb, Netdb]> {
  const [a, b] = await startPair(clock, hub, tuning)
  await a.setLocal(NET, [entry(1, 1), entry(2, 1)])
  await a.join(NET)
  await b.setLocal(NET, [entry(3, 2)])
  await b.join(NET)
  await settle()
  expect(view(b)).toEqual([line('a', entry(1, 1)), line('a', entry(2, 1)), line('b', entry(3, 2))])
  return [a, b]
}

/** Advances the fake clock one digest period at a time. */
async function periods(clock: FakeClock, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await clock.advance(tuning.digestIntervalMs)
    await settle()
  }
}

describe('an owner that left a network (fake clock)', () => {
  it('has its entries dropped by a peer that lost its last delete and its leave', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const [a, b] = await pair(clock, hub)

    // a's last endpoint goes and it leaves the network; b hears none of it
    hub.filter = (d) => !(d.from === 'a' && d.to === 'b')
    await a.setLocal(NET, [])
    await a.leave(NET)
    await settle()
    hub.filter = undefined
    expect(view(b)).toContain(line('a', entry(1, 1)))

    // no silent-owner expiry: what repairs b is a's digest of its (empty) set, kept up after leaving
    await periods(clock, 2)
    expect(view(b)).toEqual([line('b', entry(3, 2))])
    expect(b.stats().ownersEmptied).toBe(1)
    expect(b.stats().ownersExpired).toBe(0)
  })

  it('publishes those empty digests only for the tombstone TTL, and not after a re-join', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const [a, b] = await pair(clock, hub)
    await a.leave(NET)
    await settle()
    expect(view(b)).toEqual([line('b', entry(3, 2))])
    await periods(clock, 3)
    const lingering = a.stats().leftDigestsSent
    expect(lingering).toBeGreaterThanOrEqual(2)
    await periods(clock, 10) // past the 10 s TTL
    const final = a.stats().leftDigestsSent
    expect(final).toBeLessThanOrEqual(10)
    await periods(clock, 3)
    expect(a.stats().leftDigestsSent).toBe(final)

    // leave, then come back within the TTL: the empty digest stops, the new entries stand
    await a.setLocal(NET, [entry(5, 1)])
    await a.join(NET)
    await a.leave(NET)
    await a.setLocal(NET, [entry(6, 1)])
    await a.join(NET)
    await settle()
    const before = a.stats().leftDigestsSent
    await periods(clock, 3)
    expect(a.stats().leftDigestsSent).toBe(before)
    expect(view(b)).toEqual([line('a', entry(6, 1)), line('b', entry(3, 2))])
  })

  it('an empty digest does not delete entries newer than it (a late copy racing a re-add)', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const [a, b] = await pair(clock, hub)
    // a empties its set but stays: its digests now say "none at that time"; keep a copy of one
    await a.setLocal(NET, [])
    let emptyDigest: Uint8Array | undefined
    hub.filter = (d) => {
      if (d.from === 'a' && new TextDecoder().decode(d.data).includes('"digest"')) emptyDigest = d.data
      return true
    }
    await periods(clock, 1)
    hub.filter = undefined
    expect(view(b)).toEqual([line('b', entry(3, 2))])
    if (emptyDigest === undefined) throw new Error('no digest seen')

    await a.setLocal(NET, [entry(7, 1)])
    await settle()
    await hub.pubsub('a').publish(TOPIC, emptyDigest) // authenticated as a, arriving late
    await settle()
    expect(view(b)).toEqual([line('a', entry(7, 1)), line('b', entry(3, 2))])
  })
})
