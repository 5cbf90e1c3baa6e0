/**
 * The ingress routing mesh at scale (nftables backend): N published services — each a
 * service with a VIP and one backend in the ingress network's LB, and one published TCP
 * port balanced over it — programmed into a throwaway node by a reconcile; then ONE new
 * published service arrives, again and again, and the time from the `updateIngress` call
 * until its rules are in the kernel (the call resolves after the last `nft -f` returned) is
 * measured: the fast path (the LB's and the ingress namespace's deltas in one transaction,
 * the VIP address, the host table's element; nothing observed), with the bytes of nft script
 * it sends and the processes it spawns. Then the full `reconcile` of the same node with
 * nothing to change (the drift check's cost). Needs root; build first, then run it in a
 * throwaway network and mount namespace so nothing touches the host's namespaces:
 *   unshare -m -n sh -c 'mount -t tmpfs none /run/netns && ip link set lo up &&
 *     ip link add d0 type veth peer name d1 && ip addr add 192.0.2.1/24 dev d0 && ip link set d0 up &&
 *     node test/bench/ingress.ts [services=10000] [updates=20] [reconciles=3]'
 * Prints a table and one JSON line. Not a CI gate.
 */
import { randomBytes } from 'node:crypto'
import {
  createDataplane,
  type DesiredState,
  type IngressSpec,
  type LbServiceSpec,
  type LoadBalancerSpec,
} from '@swarmnet/dataplane'
import { silentLogger } from '@swarmnet/logger'
import { pct, round } from './lib.ts'

const count = Number(process.argv[2] ?? 10_000)
const updates = Math.max(10, Number(process.argv[3] ?? 20))
const reconciles = Number(process.argv[4] ?? 3)
let nftBytes = 0
/** When the update's first process was spawned: what came before is validation and planning in JS. */
let firstSpawn: number | undefined
const dp = createDataplane(
  { logger: silentLogger },
  {
    advertiseAddress: '192.0.2.1',
    lbBackend: 'nftables',
    onSpawn: (argv, input) => {
      firstSpawn ??= performance.now()
      if (argv.join(' ').endsWith('nft -f -')) nftBytes += Buffer.byteLength(input)
    },
  },
)
const vni = 0x800000 + (randomBytes(2).readUInt16BE() & 0x7fff) * 2
const ip = (n: number) => `10.98.${(n >> 8) & 255}.${n & 255}`
const id = (i: number) => `s${i.toString(36).padStart(6, '0')}`
/** Service i: VIP from the low half of the /16, one backend from the high half, published on 20000 + i. */
const service = (i: number): LbServiceSpec => ({
  id: id(i),
  vip: ip(2 + i),
  backends: [{ ip: ip(32_768 + i), weight: 1 }],
})
const lb = (n: number): LoadBalancerSpec => ({
  networkId: 'ingress',
  address: '10.98.255.250',
  services: Array.from({ length: n }, (_, i) => service(i)),
})
const ingress = (n: number): IngressSpec => ({
  networkId: 'ingress',
  gatewayIp: '172.18.0.2',
  ports: Array.from({ length: n }, (_, i) => ({
    protocol: 'tcp' as const,
    published: 20_000 + i,
    serviceId: id(i),
  })),
  hostPorts: [],
})
const desired = (n: number): DesiredState => ({
  networks: [{ id: 'ingress', vni, subnet: '10.98.0.0/16', gateway: '10.98.0.1', peers: [] }],
  endpoints: [],
  loadBalancers: [lb(n)],
  ingress: ingress(n),
})
const stats = (ms: number[]) => ({ p50: pct(ms, 50), min: Math.min(...ms), max: Math.max(...ms) })
const fmt = (s: { p50: number; min: number; max: number }, unit = 1, digits = 0) =>
  (['min', 'p50', 'max'] as const).map((k) => `${k} ${round(s[k] / unit, digits)}`).join(', ')

const t0 = performance.now()
try {
  const first = await dp.reconcile(desired(count))
  if (first.failed.size > 0) throw new Error(`initial program failed: ${[...first.failed.values()]}`)
  const initialMs = performance.now() - t0
  const rows: Array<{ ms: number; planMs: number; bytes: number; processes: number }> = []
  for (let u = 1; u <= updates; u++) {
    const [nextIngress, nextLb] = [ingress(count + u), lb(count + u)]
    nftBytes = 0
    firstSpawn = undefined
    const start = performance.now()
    const r = await dp.updateIngress(nextIngress, nextLb)
    const ms = performance.now() - start
    if (r.failed.size > 0) throw new Error(`update failed: ${[...r.failed.values()]}`)
    rows.push({ ms, planMs: (firstSpawn ?? start) - start, bytes: nftBytes, processes: r.processes })
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
  const plan = stats(rows.map((r) => r.planMs))
  const bytes = rows.map((r) => r.bytes)
  const processes = [...new Set(rows.map((r) => r.processes))]
  console.log(`published services ${count}: initial program ${(initialMs / 1000).toFixed(1)} s`)
  console.log(
    `one new published service → rules in the kernel (updateIngress, ${updates} updates): ${fmt(update)} ms (target ≤ 50 ms)`,
  )
  console.log(`  of which validation + planning before the first process: ${fmt(plan)} ms`)
  console.log(
    `nft script per new published service: ${Math.min(...bytes)}–${Math.max(...bytes)} bytes; processes per update: ${processes.join(', ')}`,
  )
  console.log(
    `full reconcile of ${count + updates} published services, nothing to change (${reconciles}×): ${fmt(drift, 1000, 2)} s`,
  )
  console.log(
    JSON.stringify({
      bench: 'ingress-update',
      services: count,
      initialMs,
      update: { ...update, n: updates },
      planMs: plan,
      nftBytes: bytes,
      processes,
      reconcileMs: { ...drift, n: reconciles },
    }),
  )
} finally {
  await dp.teardown()
}
