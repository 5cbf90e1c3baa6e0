/**
 * Convergence benchmark of the endpoint gossip alone: N simulated nodes in one process on the
 * in-memory hub, all on one network. Measures, per added entry, the time from `setLocal` at the
 * owner until the entry is in `entries()` at every other node; prints p50/p99/max per scenario
 * as a table and one JSON line. Not a CI gate.
 *
 * Run (Node ≥ 23 strips the types itself):
 *   cd packages/netdb && npm run build && node bench/convergence.ts [--nodes 200] [--adds 200]
 *
 * Scenarios: no loss (the fast path: one `entries` message), and 1% / 5% independent loss per
 * delivery (a node that missed the add is repaired by the owner's next digest → sync request →
 * snapshot, so its tail is about one digest period). Hub delivery is a microtask (0 latency):
 * the numbers are processing cost, not network latency. One thread carries the whole cluster's
 * work, including N² digest deliveries per period (~40k/s at 200 nodes ≈ half a CPU), so the
 * tails here include queueing a real node (200 digests/s) never sees; shorter digest periods
 * overload the simulation itself.
 */
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { createMemoryHub, createNetdb, type LocalEntry, type Netdb, type NetdbTuning } from '@swarmnet/netdb'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}
const NODES = arg('nodes', 200)
const ADDS = arg('adds', 200)
const NET = 'bench'

function entry(i: number, host: number): LocalEntry {
  const b = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255]
  return {
    ip: b.join('.'),
    mac: `02:42:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
    vtep: `192.168.${(host >> 8) & 255}.${host & 255}`,
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

interface Result {
  scenario: string
  nodes: number
  adds: number
  batch: number
  dropRate: number
  digestIntervalMs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  setupMs: number
  deliveriesPerAdd: number
}

async function scenario(
  name: string,
  dropRate: number,
  batch: number,
  tuning: Partial<NetdbTuning>,
): Promise<Result> {
  const hub = createMemoryHub()
  const t0 = performance.now()
  const nodes: Netdb[] = await Promise.all(
    Array.from({ length: NODES }, async (_, i) => {
      const netdb = createNetdb(
        { logger: silentLogger, clock: systemClock, pubsub: hub.pubsub(`node${i}`) },
        { nodeId: `node${i}`, tuning },
      )
      await netdb.start()
      await netdb.setLocal(NET, [entry(i + 1, i + 1)])
      await netdb.join(NET)
      return netdb
    }),
  )
  while (!nodes.every((n) => n.entries(NET).length === NODES)) await new Promise((r) => setTimeout(r, 20))
  const setupMs = performance.now() - t0

  hub.dropRate = dropRate
  const deliveredBefore = hub.stats().delivered
  // entries being waited for: IP → when added, and which nodes have not seen it yet
  const waiting = new Map<string, { started: number; missing: Set<number>; done: () => void }>()
  const samples: number[] = []
  nodes.forEach((n, i) => {
    n.on('change', () => {
      if (waiting.size === 0) return
      const ips = new Set(n.entries(NET).map((e) => e.ip))
      for (const [ip, w] of waiting) {
        if (!w.missing.has(i) || !ips.has(ip)) continue
        w.missing.delete(i)
        samples.push(performance.now() - w.started)
        if (w.missing.size === 0) {
          waiting.delete(ip)
          w.done()
        }
      }
    })
  })
  for (let k = 0; k < ADDS; k += batch) {
    // `batch` adds at once, each by a different owner
    const owners = Array.from({ length: Math.min(batch, ADDS - k) }, (_, j) => (k + j) % NODES)
    await Promise.all(
      owners.map(async (owner, j) => {
        const netdb = nodes[owner]
        if (netdb === undefined) throw new Error('no node')
        const e = entry(100_000 + k + j, owner + 1)
        const all = new Promise<void>((done) => {
          const missing = new Set(nodes.keys())
          missing.delete(owner)
          waiting.set(e.ip, { started: performance.now(), missing, done })
        })
        await netdb.setLocal(NET, [entry(owner + 1, owner + 1), e])
        await all
        // put it back, so every add is a fresh one on an otherwise steady network
        await netdb.setLocal(NET, [entry(owner + 1, owner + 1)])
      }),
    )
  }
  const deliveriesPerAdd = (hub.stats().delivered - deliveredBefore) / ADDS
  await Promise.all(nodes.map((n) => n.stop()))
  samples.sort((a, b) => a - b)
  return {
    scenario: name,
    nodes: NODES,
    adds: ADDS,
    batch,
    dropRate,
    digestIntervalMs: tuning.digestIntervalMs ?? 1000,
    p50Ms: round(quantile(samples, 0.5)),
    p99Ms: round(quantile(samples, 0.99)),
    maxMs: round(samples.at(-1) ?? Number.NaN),
    setupMs: Math.round(setupMs),
    deliveriesPerAdd: Math.round(deliveriesPerAdd),
  }
}

const round = (x: number): number => Math.round(x * 100) / 100

const results: Result[] = []
// no loss: one add at a time (clean latency); with loss: 20 owners add at once, so the run is not
// dominated by waiting for digest periods one add after another
results.push(await scenario('no loss', 0, 1, {}))
results.push(await scenario('1% loss', 0.01, 20, {}))
results.push(await scenario('5% loss', 0.05, 20, {}))

console.log(
  `netdb convergence: ${NODES} nodes, ${ADDS} adds each (time until every other node has the entry)`,
)
console.log('scenario                   drop  digest   p50 ms   p99 ms   max ms  deliveries/add  setup ms')
for (const r of results) {
  console.log(
    `${r.scenario.padEnd(25)} ${String(r.dropRate).padStart(5)} ${String(r.digestIntervalMs).padStart(7)} ${r.p50Ms
      .toFixed(2)
      .padStart(
        8,
      )} ${r.p99Ms.toFixed(2).padStart(8)} ${r.maxMs.toFixed(2).padStart(8)} ${String(r.deliveriesPerAdd).padStart(15)} ${String(r.setupMs).padStart(9)}`,
  )
}
console.log(JSON.stringify({ bench: 'netdb-convergence', results }))
