/**
 * Overlay throughput against the plain underlay, on the same 2-host lab in the same run.
 *
 * overlay: iperf3 between two endpoints (`swarmnet endpoint attach`) on hosts 1 and 2, i.e.
 *   endpoint veth → bridge → vxlan0 → host eth0 → underlay bridge → … and back up.
 * plain:   iperf3 between the hosts' root namespaces (host 1 → 192.0.2.12), veth + bridge only.
 * Each run measures both paths both ways (client → server, then `-R`), `--secs` seconds each;
 * runs alternate which path goes first. The server is `iperf3 -s -1` started per measurement
 * with lab.spawn; Gbit/s is iperf3's receiver-side `end.sum_received.bits_per_second` (`-J`).
 * Sender, receiver, softirqs and the agents share this machine's cores, so the numbers are
 * CPU-bound: the ratio is the meaningful figure (target ≥ 0.85).
 *
 * Run as root: node test/bench/throughput.ts [--runs 3] [--secs 5]
 * Prints a table and one JSON line. Not a CI gate.
 */
import { availableParallelism } from 'node:os'
import type { Lab } from '@swarmnet/lab'
import * as lib from './lib.ts'

const { attach, createNetwork, formCluster, load1, neighText, numArg, pct, round, sleep, table, waitFor } =
  lib
const { withLab } = lib

const RUNS = numArg('runs', 3)
const SECS = numArg('secs', 5)
const TARGET_RATIO = 0.85
const PORT = '5201'

/** One iperf3 measurement in Gbit/s: server on host 2, client on host 1 (`ns`: netns or root). */
async function iperf(lab: Lab, server: string[], client: string[], dst: string, reverse: boolean) {
  const srv = await lab.spawn(2, [...server, 'iperf3', '-s', '-1', '-p', PORT])
  try {
    for (let attempt = 0; ; attempt++) {
      const argv = [...client, 'iperf3', '-c', dst, '-p', PORT, '-t', String(SECS), '-J']
      const r = await lab.exec(1, reverse ? [...argv, '-R'] : argv)
      const j = JSON.parse(r.stdout || '{}') as {
        error?: string
        end?: { sum_received?: { bits_per_second?: number } }
      }
      const bps = j.end?.sum_received?.bits_per_second
      if (r.exitCode === 0 && bps !== undefined) return bps / 1e9
      if (attempt >= 50) throw new Error(`iperf3 to ${dst} failed: ${j.error ?? r.stderr}`)
      await sleep(100) // the server is not listening yet
    }
  } finally {
    await srv.kill().catch(() => undefined)
    await srv.result
  }
}

const mtuOf = async (lab: Lab, host: number, ns: string[]): Promise<number> => {
  const links = JSON.parse((await lab.exec(host, [...ns, 'ip', '-j', 'link', 'show'])).stdout) as Array<{
    ifname: string
    mtu: number
  }>
  return links.find((l) => l.ifname !== 'lo')?.mtu ?? 0
}

const result = await withLab('tp', 2, async (lab) => {
  await formCluster(lab, 2)
  const vni = await createNetwork(lab, 'bench')
  const e1 = await attach(lab, 1, 'tp1', 'bench')
  const e2 = await attach(lab, 2, 'tp2', 'bench')
  await waitFor('endpoint entries on both hosts', 30_000, async () =>
    (await neighText(lab, 1, vni)).includes(`${e2.ip} `) &&
    (await neighText(lab, 2, vni)).includes(`${e1.ip} `)
      ? true
      : undefined,
  )
  const inEp = (ns: string): string[] => ['ip', 'netns', 'exec', ns]
  const paths = {
    overlay: { server: inEp(e2.namespace), client: inEp(e1.namespace), dst: e2.ip },
    plain: { server: [], client: [], dst: lab.hostAddress(2) },
  }
  const gbps: Record<string, number[]> = {
    'overlay 1→2': [],
    'overlay 2→1': [],
    'plain 1→2': [],
    'plain 2→1': [],
  }
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? (['overlay', 'plain'] as const) : (['plain', 'overlay'] as const)
    for (const name of order) {
      const p = paths[name]
      gbps[`${name} 1→2`]?.push(await iperf(lab, p.server, p.client, p.dst, false))
      gbps[`${name} 2→1`]?.push(await iperf(lab, p.server, p.client, p.dst, true))
    }
    console.error(`run ${run + 1}/${RUNS} done`)
  }
  return {
    gbps,
    mtu: { overlay: await mtuOf(lab, 1, inEp(e1.namespace)), plain: await mtuOf(lab, 1, []) },
  }
})

const med = (k: string): number => pct(result.gbps[k] ?? [], 50)
const overlay = (med('overlay 1→2') + med('overlay 2→1')) / 2
const plain = (med('plain 1→2') + med('plain 2→1')) / 2
const ratio = overlay / plain
table(
  ['path', 'runs (Gbit/s)', 'median Gbit/s'],
  Object.entries(result.gbps).map(([k, v]) => [k, v.map((x) => x.toFixed(2)).join(' '), med(k).toFixed(2)]),
)
console.log(
  `overlay/plain = ${ratio.toFixed(3)} (target ≥ ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}); ` +
    `MTU overlay ${result.mtu.overlay} / plain ${result.mtu.plain}; load1 ${load1()}`,
)
console.log(
  JSON.stringify({
    bench: 'throughput',
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    runs: RUNS,
    secs: SECS,
    gbps: Object.fromEntries(Object.entries(result.gbps).map(([k, v]) => [k, v.map((x) => round(x, 3))])),
    overlayGbps: round(overlay, 3),
    plainGbps: round(plain, 3),
    ratio: round(ratio, 3),
    mtu: result.mtu,
    target: { ratio: TARGET_RATIO, met: ratio >= TARGET_RATIO },
  }),
)
