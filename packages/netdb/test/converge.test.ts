import { systemClock } from '@swarmnet/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHub, type MemoryHub } from '../src/index.js'
import { converged, entry, line, NET, startNode, stopNode, type TestNode } from './helpers.js'

let nodes: TestNode[] = []
afterEach(async () => {
  await Promise.all(nodes.map(stopNode))
  nodes = []
})

async function three(hub: MemoryHub): Promise<TestNode[]> {
  nodes = await Promise.all(
    ['a', 'b', 'c'].map((id, i) => startNode(hub, id, { entries: [entry(i + 1, i + 1)] })),
  )
  await converged(
    nodes,
    nodes.map((n, i) => line(n.id, entry(i + 1, i + 1))),
  )
  return nodes
}

describe('netdb convergence', () => {
  it('three nodes learn each other’s entries, and change fires', async () => {
    const hub = createMemoryHub()
    const [a, b, c] = await three(hub)
    if (a === undefined || b === undefined || c === undefined) throw new Error('nodes')
    const fired: string[] = []
    const off = b.netdb.on('change', (n) => fired.push(n))
    await a.netdb.setLocal(NET, [entry(1, 1), entry(10, 1)])
    await converged(nodes, [
      line('a', entry(1, 1)),
      line('a', entry(10, 1)),
      line('b', entry(2, 2)),
      line('c', entry(3, 3)),
    ])
    expect(fired).toContain(NET)
    off()
    expect(b.netdb.stats().received).toBeGreaterThan(0)
    expect(b.netdb.stats().bytesReceived).toBeGreaterThan(b.netdb.stats().received * 50)
    expect(a.netdb.stats().sent).toBeGreaterThan(0)
    expect(a.netdb.stats().bytesSent).toBeGreaterThan(a.netdb.stats().sent * 50)
    expect(b.netdb.networks()).toEqual([NET])
  })

  it('drops and counts garbage without crashing', async () => {
    const hub = createMemoryHub()
    const [, b] = await three(hub)
    const junk = hub.pubsub('a')
    const topic = '/swarmnet/net/net1/1.0.0'
    const enc = new TextEncoder()
    const bad: Uint8Array[] = [
      new Uint8Array([0xff, 0xfe, 0x00, 0x01]), // not UTF-8
      enc.encode('{"v":1,'), // not JSON
      enc.encode(JSON.stringify({ v: 2, t: 'digest', network: NET, owner: 'a', l: 1, count: 0, hash: '0' })),
      enc.encode(
        JSON.stringify({
          v: 1,
          t: 'entries',
          network: NET,
          owner: 'a',
          adds: [{ ip: '10.0.0.999' }],
          dels: [],
        }),
      ),
      enc.encode(
        JSON.stringify({
          v: 1,
          t: 'entries',
          network: NET,
          owner: 'a',
          adds: [{ ip: '10.0.0.9', mac: 'aa:bb:cc:dd:ee:ff', vtep: '192.168.0.1', l: 5 }],
          dels: [],
        }),
      ),
      enc.encode(
        JSON.stringify({
          v: 1,
          t: 'digest',
          network: 'other',
          owner: 'a',
          l: 1,
          count: 0,
          hash: '0123456789abcdef',
        }),
      ),
      new Uint8Array(256 * 1024 + 1).fill(0x20), // over the limit
      enc.encode('null'),
    ]
    for (const data of bad) await junk.publish(topic, data)
    await new Promise((r) => setTimeout(r, 100))
    expect(b?.netdb.stats().droppedMalformed).toBe(bad.length)
    await converged(nodes, [line('a', entry(1, 1)), line('b', entry(2, 2)), line('c', entry(3, 3))])
  })

  it('converges under 30% random loss', async () => {
    const hub = createMemoryHub()
    await three(hub)
    hub.dropRate = 0.3
    const [a, b] = nodes
    await a?.netdb.setLocal(NET, [entry(1, 1), entry(12, 1), entry(13, 1)])
    await b?.netdb.setLocal(NET, [])
    await converged(
      nodes,
      [line('a', entry(1, 1)), line('a', entry(12, 1)), line('a', entry(13, 1)), line('c', entry(3, 3))],
      5000,
    )
  })

  it('a restarted node whose clock went back an hour still wins (re-stamp above what others hold)', async () => {
    const hub = createMemoryHub()
    const [, b] = await three(hub)
    if (b === undefined) throw new Error('b')
    await stopNode(b)
    const behind = { now: () => Date.now() - 3_600_000, sleep: systemClock.sleep }
    const moved = [{ ...entry(2, 2), vtep: '192.168.0.22' }]
    const b2 = await startNode(hub, 'b', { entries: moved, clock: behind })
    nodes[1] = b2
    await converged(nodes, [
      line('a', entry(1, 1)),
      line('c', entry(3, 3)),
      line('b', moved[0] ?? entry(0, 0)),
    ])
    expect(b2.netdb.stats().restamps).toBeGreaterThan(0)
  })

  it('rejects invalid local entries', async () => {
    const hub = createMemoryHub()
    const [a] = await three(hub)
    await expect(
      a?.netdb.setLocal(NET, [{ ip: '10.0.0.256', mac: '02:42:0a:00:00:01', vtep: '1.2.3.4' }]),
    ).rejects.toThrow(/IP/)
    await expect(a?.netdb.setLocal(NET, [entry(1, 1), entry(1, 1)])).rejects.toThrow(/duplicate/)
    await expect(a?.netdb.setLocal('bad/net', [])).rejects.toThrow(/network id/)
  })
})
