import { afterEach, describe, expect, it } from 'vitest'
import type { GossipPeer } from '../src/index.js'
import { encode, startNode, stopAll, TOPIC, waitFor } from './helpers.js'

describe('gossip mesh between admitted nodes', { timeout: 20_000 }, () => {
  afterEach(stopAll)

  it('admits both sides on dial and reports peers and events', async () => {
    const a = await startNode({ nodeId: 'node-a' })
    const b = await startNode({ nodeId: 'node-b' })
    const admittedByA: GossipPeer[] = []
    a.gossip.on('peer:admitted', (p) => admittedByA.push(p))

    const peer = await b.gossip.dial(a.addr())
    expect(peer).toMatchObject({ peerId: a.identity.peerId, nodeId: 'node-a' })
    await waitFor('a admits b', () => admittedByA.length === 1)
    expect(admittedByA[0]).toMatchObject({ peerId: b.identity.peerId, nodeId: 'node-b' })
    expect(a.gossip.peers().map((p) => p.nodeId)).toEqual(['node-b'])
    expect(b.gossip.peers().map((p) => p.nodeId)).toEqual(['node-a'])
    expect(a.gossip.stats()).toMatchObject({ admitted: 1, pending: 0, refusedPeers: 0, droppedMessages: 0 })
  })

  it('publishes without peers, and before start throws a typed error', async () => {
    const a = await startNode({ nodeId: 'node-a' })
    await expect(a.gossip.publish(TOPIC, encode('alone'))).resolves.toEqual({ recipients: [] })
    await a.gossip.stop()
    await expect(a.gossip.publish(TOPIC, encode('stopped'))).rejects.toHaveProperty(
      'code',
      'ERR_GOSSIP_NOT_STARTED',
    )
  })

  it('three nodes exchange messages relayed through the manager', async () => {
    const manager = await startNode({ nodeId: 'manager' })
    const w1 = await startNode({ nodeId: 'worker-1' })
    const w2 = await startNode({ nodeId: 'worker-2' })
    await w1.gossip.dial(manager.addr())
    await w2.gossip.dial(manager.addr())
    await waitFor('manager knows both subscribers', () => manager.gossip.subscribers(TOPIC).length === 2)
    await waitFor('the manager relays to both workers', () => manager.gossip.meshPeers(TOPIC).length === 2)
    await waitFor('workers know the manager subscribes', () =>
      [w1, w2].every((w) => w.gossip.subscribers(TOPIC).length === 1),
    )
    // w1 and w2 never connect: they learn of each other from signed announcements via the manager
    await waitFor('workers know each other as members', () =>
      [w1, w2].every((w) => w.gossip.members().length === 2),
    )
    expect(w2.gossip.members()).toContainEqual({ peerId: w1.identity.peerId, nodeId: 'worker-1' })
    expect(w2.gossip.peers().map((p) => p.nodeId)).toEqual(['manager'])

    // w1 and w2 are not connected: w1 → w2 goes through the manager's mesh
    await w1.gossip.publish(TOPIC, encode('hello from w1'))
    await waitFor('manager and w2 get w1', () =>
      [manager, w2].every((n) => n.received.some((m) => m.data === 'hello from w1')),
    )
    await manager.gossip.publish(TOPIC, encode('hello from manager'))
    await waitFor('both workers get the manager', () =>
      [w1, w2].every((n) => n.received.some((m) => m.data === 'hello from manager')),
    )
    expect(w2.received.find((m) => m.data === 'hello from w1')?.from).toEqual({
      peerId: w1.identity.peerId,
      nodeId: 'worker-1',
    })

    // relayed messages once the mesh has formed (latency is measured by benchmarks, not here)
    for (let i = 0; i < 10; i++) {
      const text = `ping-${i}`
      await w2.gossip.publish(TOPIC, encode(text))
      await waitFor(`w1 gets ${text}`, () => w1.received.some((m) => m.data === text), 10_000)
    }
    expect(w1.received.filter((m) => m.from.nodeId === 'worker-2')).toHaveLength(10)
    for (const n of [manager, w1, w2]) expect(n.gossip.stats().droppedMessages).toBe(0)
    // traffic counters (payload bytes): w2 published its 10 pings (+ announcements), w1 got them
    const w2Stats = w2.gossip.stats()
    expect(w2Stats.messagesOut).toBeGreaterThanOrEqual(10)
    expect(w2Stats.bytesOut).toBeGreaterThanOrEqual(10 * 'ping-0'.length)
    expect(w1.gossip.stats().messagesIn).toBeGreaterThanOrEqual(11)
  })

  it('emits peer:gone when an admitted peer stops', async () => {
    const a = await startNode({ nodeId: 'node-a' })
    const b = await startNode({ nodeId: 'node-b' })
    const gone: string[] = []
    a.gossip.on('peer:gone', (p) => gone.push(p.nodeId))
    await b.gossip.dial(a.addr())
    await waitFor('a admits b', () => a.gossip.peers().length === 1)
    await b.gossip.stop()
    await waitFor('a sees b gone', () => gone.length === 1)
    expect(gone).toEqual(['node-b'])
    expect(a.gossip.peers()).toEqual([])
  })
})
