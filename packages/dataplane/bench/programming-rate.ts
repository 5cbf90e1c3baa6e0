// Programming rate: remote-peer entries (one neighbour + one FDB entry each) written into
// one overlay namespace, batched (observation, planner and executor: `ip -batch -` +
// `bridge -batch -`, side by side) versus raw (the same lines fed by hand to one `ip -batch -`
// then one `bridge -batch -`, no observation, no planning) versus naive (one `ip` and one
// `bridge` process per entry), in the same run. Needs root. Build first (`tsc -p tsconfig.json`), then:
//   node packages/dataplane/bench/programming-rate.ts [batchedEntries=10000] [naiveEntries=1000]
// Prints a table and one JSON line. Not a CI gate.
import { randomBytes } from 'node:crypto'
import { nodeConfig } from '../dist/dataplane.js'
import { Executor } from '../dist/executor.js'
import { observeOverlay } from '../dist/observe.js'
import { planPeers } from '../dist/overlay.js'
import { normalizeDesired } from '../dist/spec.js'

const batchedCount = Number(process.argv[2] ?? 10_000)
const naiveCount = Number(process.argv[3] ?? 1_000)
const exec = new Executor()
const cfg = nodeConfig({ advertiseAddress: '192.0.2.1' })

function peer(i: number, base: number) {
  const a = base + Math.floor(i / 250)
  const b = (i % 250) + 1
  const hex = (n: number) => n.toString(16).padStart(2, '0')
  return {
    ip: `10.${a >> 8}.${a & 255}.${b}`,
    mac: `02:42:0a:${hex(a >> 8)}:${hex(a & 255)}:${hex(b)}`,
    vtep: `192.0.2.${2 + (i % 200)}`,
  }
}

async function withVni<T>(vni: number, fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `sn-ov-${vni}`
  await exec.run(['ip', 'netns', 'add', ns])
  try {
    await exec.run([
      'ip',
      '-n',
      ns,
      'link',
      'add',
      'vxlan0',
      'type',
      'vxlan',
      'id',
      String(vni),
      'dstport',
      '4789',
      'nolearning',
      'proxy',
    ])
    return await fn(ns)
  } finally {
    await exec.tryRun(['ip', 'netns', 'del', ns])
  }
}

const vniBase = 0x800000 + (randomBytes(2).readUInt16BE() & 0x7fff) * 2

const batched = await withVni(vniBase, async (ns) => {
  const peers = Array.from({ length: batchedCount }, (_, i) => peer(i, 0))
  const desired = normalizeDesired({
    networks: [{ id: 'bench', vni: vniBase, subnet: '10.0.0.0/8', gateway: '10.255.255.254', peers }],
    endpoints: [{ id: 'bench', attachments: [{ networkId: 'bench', ip: '10.255.255.253' }] }],
  })
  const net = desired.networks[0]
  if (net === undefined) throw new Error('no network')
  const t0 = performance.now()
  const observed = await observeOverlay(exec, ns)
  const plan = planPeers(net, cfg, observed)
  const before = exec.spawns
  const applied = await exec.apply(plan)
  const ms = performance.now() - t0
  const check = await observeOverlay(exec, ns)
  if (
    check.neigh.length !== batchedCount ||
    check.fdb.filter((f) => f.dst !== undefined).length !== batchedCount
  ) {
    throw new Error(
      `batched: expected ${batchedCount} entries, found ${check.neigh.length}/${check.fdb.length}`,
    )
  }
  return { entries: batchedCount, ms, processes: applied.processes + 2, applyProcesses: exec.spawns - before }
})

const raw = await withVni(vniBase + 2, async (ns) => {
  const peers = Array.from({ length: batchedCount }, (_, i) => peer(i, 0))
  const neigh = peers.map((p) => `neigh replace ${p.ip} lladdr ${p.mac} dev vxlan0 nud permanent`)
  const fdb = peers.map((p) => `fdb replace ${p.mac} dev vxlan0 dst ${p.vtep} self permanent`)
  const t0 = performance.now()
  await exec.run(['ip', '-n', ns, '-batch', '-'], { input: `${neigh.join('\n')}\n` })
  await exec.run(['bridge', '-n', ns, '-batch', '-'], { input: `${fdb.join('\n')}\n` })
  return { entries: batchedCount, ms: performance.now() - t0, processes: 2 }
})

const naive = await withVni(vniBase + 1, async (ns) => {
  const t0 = performance.now()
  for (let i = 0; i < naiveCount; i++) {
    const p = peer(i, 0)
    await exec.run([
      'ip',
      '-n',
      ns,
      'neigh',
      'replace',
      p.ip,
      'lladdr',
      p.mac,
      'dev',
      'vxlan0',
      'nud',
      'permanent',
    ])
    await exec.run([
      'bridge',
      '-n',
      ns,
      'fdb',
      'replace',
      p.mac,
      'dev',
      'vxlan0',
      'dst',
      p.vtep,
      'self',
      'permanent',
    ])
  }
  return { entries: naiveCount, ms: performance.now() - t0, processes: naiveCount * 2 }
})

const rate = (r: { entries: number; ms: number }) => Math.round((r.entries / r.ms) * 1000)
type Run = { entries: number; ms: number; processes: number }
const row = (mode: string, r: Run) => [
  mode,
  r.entries,
  r.processes,
  r.ms.toFixed(0),
  rate(r),
  ((r.ms * 1000) / r.entries).toFixed(1),
]
const rows = [
  ['mode', 'entries', 'processes', 'ms', 'entries/s', 'µs/entry'],
  row('batched', batched),
  row('raw', raw),
  row('naive', naive),
].map((r) => r.map(String))
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0))) ?? []
for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c] ?? 0)).join('  '))
const naive10k = (naive.ms / naive.entries) * batched.entries
console.log(`naive extrapolated to ${batched.entries} entries: ${(naive10k / 1000).toFixed(1)} s`)
console.log(`batched / raw rate: ${(rate(batched) / rate(raw)).toFixed(2)}×`)
console.log(
  JSON.stringify({
    bench: 'programming-rate',
    entry: 'neighbour + fdb',
    batched: {
      entries: batched.entries,
      processes: batched.processes,
      ms: Math.round(batched.ms),
      entriesPerSec: rate(batched),
    },
    naive: {
      entries: naive.entries,
      processes: naive.processes,
      ms: Math.round(naive.ms),
      entriesPerSec: rate(naive),
    },
    raw: { entries: raw.entries, processes: raw.processes, ms: Math.round(raw.ms), entriesPerSec: rate(raw) },
    batchedVsRaw: Number((rate(batched) / rate(raw)).toFixed(2)),
    naiveExtrapolatedMs: Math.round(naive10k),
    ratio: Number((rate(batched) / rate(naive)).toFixed(1)),
  }),
)
