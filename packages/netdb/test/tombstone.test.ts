import { silentLogger } from '@swarmnet/logger'
import { encodeNetdb } from '@swarmnet/wire'
import { describe, expect, it } from 'vitest'
import { createMemoryHub, createNetdb } from '../src/index.js'
import { entry, FakeClock, NET, settle, view } from './helpers.js'

const TOPIC = '/swarmnet/net/net1/1.0.0'

describe('tombstones (fake clock)', () => {
  it('refuse a stale re-add until their TTL, then are purged', async () => {
    const clock = new FakeClock()
    const hub = createMemoryHub()
    const tuning = {
      digestIntervalMs: 1000,
      digestIdleIntervalMs: 1000,
      digestJitter: 0,
      syncCoalesceMs: 0,
      tombstoneTtlMs: 60_000,
      ownerExpiryMs: 0,
    }
    const a = createNetdb({ logger: silentLogger, clock, pubsub: hub.pubsub('a') }, { nodeId: 'a', tuning })
    const b = createNetdb({ logger: silentLogger, clock, pubsub: hub.pubsub('b') }, { nodeId: 'b', tuning })
    await Promise.all([a.start(), b.start()])
    await a.setLocal(NET, [entry(1, 1)])
    await a.join(NET)
    await b.join(NET)
    await settle()
    expect(view(b)).toEqual([`a ${entry(1, 1).ip} ${entry(1, 1).mac} ${entry(1, 1).vtep}`])
    const addedAt = clock.now()

    await clock.advance(10)
    await a.setLocal(NET, []) // delete: b keeps a tombstone
    await settle()
    expect(view(b)).toEqual([])

    // a replayed copy of the original add (same Lamport time) is refused while the tombstone lives
    const replay = encodeNetdb({
      v: 1,
      t: 'entries',
      network: NET,
      owner: 'a',
      adds: [{ ...entry(1, 1), l: addedAt }],
      dels: [],
    })
    const aAgain = hub.pubsub('a') // authenticated as a, like a message relayed late
    await aAgain.publish(TOPIC, replay)
    await settle()
    expect(view(b)).toEqual([])
    expect(b.stats().staleEntries).toBe(1)
    expect(b.stats().tombstonesPurged).toBe(0)

    await clock.advance(30_000)
    expect(b.stats().tombstonesPurged).toBe(0)
    await clock.advance(32_000) // past the 60 s TTL: purged at the next anti-entropy tick
    expect(b.stats().tombstonesPurged).toBe(1)

    // the tombstone is gone: the same replay is now accepted (which is why the TTL must outlive
    // any message in flight), and the next digest of a (count 0: it holds none) repairs it
    await aAgain.publish(TOPIC, replay)
    await settle()
    expect(view(b)).toHaveLength(1)
    await clock.advance(1_100)
    await settle()
    expect(view(b)).toEqual([])
    expect(b.stats().ownersEmptied).toBe(1)
    await Promise.all([a.stop(), b.stop()])
  })
})
