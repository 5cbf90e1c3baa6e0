// Service load balancer at scale (nftables backend): N services with a VIP each on one /16
// network, programmed into a throwaway LB namespace by a reconcile; then ONE new service
// arrives, again and again, and the time until its rules are in the kernel is measured
// through `updateLoadBalancer` (the fast path: the delta from the spec applied last, one
// `nft -f` transaction + one `ip` batch, nothing observed), with the bytes of the nft script
// it sends (only that service's elements should be in it) and the processes it spawns.
// Then the full `reconcile` of the same N services with nothing to change is timed: what
// the periodic drift check costs. Needs root; build first, then run it in a throwaway
// network and mount namespace so nothing touches the host's namespaces:
//   unshare -m -n sh -c 'mount -t tmpfs none /run/netns && ip link set lo up &&
//     ip link add d0 type veth peer name d1 && ip addr add 192.0.2.1/24 dev d0 && ip link set d0 up &&
//     node packages/dataplane/bench/lb-update.ts [services=10000] [updates=10] [reconciles=3]'
// Prints a table and one JSON line. Not a CI gate.
import { randomBytes } from 'node:crypto'
import { silentLogger } from '@swarmnet/logger'
import { createDataplane, type DesiredState, type LbServiceSpec } from '../dist/index.js'

const count = Number(process.argv[2] ?? 10_000)
const updates = Math.max(10, Number(process.argv[3] ?? 10))
const reconciles = Number(process.argv[4] ?? 3)
let nftBytes = 0
const dp = createDataplane(
  { logger: silentLogger },
  {
    advertiseAddress: '192.0.2.1',
    lbBackend: 'nftables',
    onSpawn: (argv, input) => {
      if (argv.join(' ').endsWith('nft -f -')) nftBytes += Buffer.byteLength(input)
    },
  },
)
const vni = 0x800000 + (randomBytes(2).readUInt16BE() & 0x7fff) * 2
const ip = (n: number) => `10.99.${(n >> 8) & 255}.${n & 255}`
/** Service i: VIP from the low half of the /16, one backend from the high half. */
const service = (i: number): LbServiceSpec => ({
  id: `s${i.toString(36).padStart(6, '0')}`,
  vip: ip(2 + i),
  backends: [{ ip: ip(32_768 + i), weight: 1 }],
})
const lb = (n: number) => ({
  networkId: 'bench',
  address: '10.99.255.250',
  services: Array.from({ length: n }, (_, i) => service(i)),
})
const desired = (n: number): DesiredState => ({
  networks: [{ id: 'bench', vni, subnet: '10.99.0.0/16', gateway: '10.99.0.1', peers: [] }],
  endpoints: [],
  loadBalancers: [lb(n)],
})
const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b)
  return { p50: sorted[Math.floor(sorted.length / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 }
}
const fmt = (s: { p50: number; min: number; max: number }, unit = 1, digits = 0) =>
  `min ${(s.min / unit).toFixed(digits)}, p50 ${(s.p50 / unit).toFixed(digits)}, max ${(s.max / unit).toFixed(digits)}`

const t0 = performance.now()
try {
  const first = await dp.reconcile(desired(count))
  if (first.failed.size > 0) throw new Error(`initial program failed: ${[...first.failed.values()]}`)
  const initialMs = performance.now() - t0
  const rows: Array<{ ms: number; bytes: number; processes: number }> = []
  for (let u = 1; u <= updates; u++) {
    const next = lb(count + u)
    nftBytes = 0
    const start = performance.now()
    const r = await dp.updateLoadBalancer('bench', next)
    const ms = performance.now() - start
    if (r.failed.size > 0) throw new Error(`update failed: ${[...r.failed.values()]}`)
    rows.push({ ms, bytes: nftBytes, processes: r.processes })
  }
  const full: number[] = []
  for (let i = 0; i < reconciles; i++) {
    const start = performance.now()
    const r = await dp.reconcile(desired(count + updates))
    full.push(performance.now() - start)
    if (r.steps !== 0) throw new Error(`the drift check found ${r.steps} steps after the fast path`)
  }
  const update = stats(rows.map((r) => r.ms))
  const drift = stats(full)
  const bytes = rows.map((r) => r.bytes)
  const processes = [...new Set(rows.map((r) => r.processes))]
  console.log(`services ${count}: initial program ${(initialMs / 1000).toFixed(1)} s`)
  console.log(
    `one new service → rules in the kernel (updateLoadBalancer, ${updates} updates): ${fmt(update)} ms (target ≤ 50 ms)`,
  )
  console.log(
    `nft script per new service: ${Math.min(...bytes)}–${Math.max(...bytes)} bytes; processes per update: ${processes.join(', ')}`,
  )
  console.log(
    `full reconcile of ${count + updates} services, nothing to change (${reconciles}×): ${fmt(drift, 1000, 2)} s`,
  )
  console.log(
    JSON.stringify({
      bench: 'lb-update',
      services: count,
      initialMs,
      update: { ...update, n: updates },
      nftBytes: bytes,
      processes,
      reconcileMs: { ...drift, n: reconciles },
    }),
  )
} finally {
  await dp.teardown()
}
