import { afterAll, describe, expect, it } from 'vitest'
import { createMemoryHub } from '../src/index.js'
import { entry, line, NET, startNode, stopNode, type TestNode, view } from './helpers.js'

const N = 200
let nodes: TestNode[] = []
afterAll(async () => {
  await Promise.all(nodes.map(stopNode))
})

describe('200 nodes in one process', () => {
  it('converge on one network, then a change reaches everyone, also with 5% loss', async () => {
    const hub = createMemoryHub()
    const tuning = { digestIntervalMs: 200, syncBackoffMs: 100, syncCoalesceMs: 10, ownerExpiryMs: 0 }
    nodes = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        startNode(hub, `n${i}`, { entries: [entry(i + 1, i + 1)], tuning }),
      ),
    )
    const all = nodes.map((n, i) => line(n.id, entry(i + 1, i + 1)))
    const ok = (want: string[]) => () => {
      const w = [...want].sort().join('\n')
      for (const n of nodes) if (view(n.netdb).join('\n') !== w) throw new Error(`${n.id} not converged`)
    }
    const { vi } = await import('vitest')
    await vi.waitFor(ok(all), { timeout: 20_000, interval: 50 })

    hub.dropRate = 0.05
    const first = nodes[0]
    if (first === undefined) throw new Error('no node')
    await first.netdb.setLocal(NET, [entry(1, 1), entry(1000, 1)])
    await vi.waitFor(ok([...all, line('n0', entry(1000, 1))]), { timeout: 20_000, interval: 50 })
    expect(hub.stats().dropped).toBeGreaterThan(0)
  }, 60_000)
})
