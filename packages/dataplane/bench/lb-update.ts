// Service load balancer at scale (nftables backend): N services with a VIP each on one /16
// network, programmed into a throwaway LB namespace; then ONE new service record arrives and
// the time until its rules are in the kernel is measured (a whole reconcile: observation,
// planning, one `nft -f` transaction), with the bytes of the nft script it sends (only that
// service's map element and chains should be in it). Needs root. Build first, then:
//   node packages/dataplane/bench/lb-update.ts [services=10000] [updates=10]
// Prints a table and one JSON line. Not a CI gate.
import { randomBytes } from 'node:crypto'
import { silentLogger } from '@swarmnet/logger'
import { createDataplane, type DesiredState, type LbServiceSpec } from '../dist/index.js'

const count = Number(process.argv[2] ?? 10_000)
const updates = Number(process.argv[3] ?? 10)
const dp = createDataplane({ logger: silentLogger }, { advertiseAddress: '192.0.2.1', lbBackend: 'nftables' })
const vni = 0x800000 + (randomBytes(2).readUInt16BE() & 0x7fff) * 2
const ip = (n: number) => `10.99.${(n >> 8) & 255}.${n & 255}`
/** Service i: VIP from the low half of the /16, one backend from the high half. */
const service = (i: number): LbServiceSpec => ({
  id: `s${i.toString(36).padStart(6, '0')}`,
  vip: ip(2 + i),
  backends: [{ ip: ip(32_768 + i), weight: 1 }],
})
const desired = (n: number): DesiredState => ({
  networks: [{ id: 'bench', vni, subnet: '10.99.0.0/16', gateway: '10.99.0.1', peers: [] }],
  endpoints: [],
  loadBalancers: [
    {
      networkId: 'bench',
      address: '10.99.255.250',
      services: Array.from({ length: n }, (_, i) => service(i)),
    },
  ],
})
const nftBytes = async (d: DesiredState): Promise<number> =>
  (await dp.plan(d)).steps.reduce((sum, s) => sum + (s.tool === 'nft' ? s.script.length : 0), 0)

const t0 = performance.now()
try {
  const first = await dp.reconcile(desired(count))
  if (first.failed.size > 0) throw new Error(`initial program failed: ${[...first.failed.values()]}`)
  const initialMs = performance.now() - t0
  const rows: Array<{ ms: number; bytes: number }> = []
  for (let u = 1; u <= updates; u++) {
    const d = desired(count + u)
    const bytes = await nftBytes(d)
    const start = performance.now()
    const r = await dp.reconcile(d)
    const ms = performance.now() - start
    if (r.failed.size > 0) throw new Error(`update failed: ${[...r.failed.values()]}`)
    rows.push({ ms, bytes })
  }
  const sorted = rows.map((r) => r.ms).sort((a, b) => a - b)
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? 0
  const bytes = rows.map((r) => r.bytes)
  console.log(`services ${count}: initial program ${(initialMs / 1000).toFixed(1)} s`)
  console.log(
    `one new service → rules in the kernel: min ${sorted[0]?.toFixed(0)} ms, p50 ${p50.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms (target ≤ 50 ms)`,
  )
  console.log(`nft script per new service: ${Math.min(...bytes)}–${Math.max(...bytes)} bytes`)
  console.log(
    JSON.stringify({
      bench: 'lb-update',
      services: count,
      initialMs,
      p50Ms: p50,
      minMs: sorted[0],
      maxMs: sorted.at(-1),
      nftBytes: bytes,
    }),
  )
} finally {
  await dp.teardown()
}
