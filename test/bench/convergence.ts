/**
 * Endpoint convergence on a lab of real agents: how long after `swarmnet endpoint attach`
 * returns on one host does every other host's kernel hold the new endpoint's static
 * neighbour entry (`<ip> dev vxlan0 lladdr <mac> PERMANENT`) and its FDB entry
 * (`<mac> dst <owner's underlay IP>`) in `sn-ov-<vni>`?
 *
 * Setup per N: lab of N hosts, cluster formed, one overlay network, one endpoint attached per
 * host (so every host has the network namespace), all of them converged. Then `--runs` times:
 * attach a new endpoint on a random host and take the latest moment any other host got either
 * entry, minus the moment the attach command returned (clamped at 0; the attach command's own
 * duration is reported apart).
 *
 * How "present in the kernel" is observed: one `ip -ts monitor neigh` per host inside its
 * overlay namespace, started before the attaches. The kernel notifies it when an entry is
 * written (neighbour lines start with the endpoint IP, FDB lines with the VTEP address), and
 * `-ts` stamps each line when `ip` receives it. This replaces polling every 10–20 ms: on this
 * 2-core machine, polling 20 hosts would spawn ~3000 processes/s and load the very agents
 * being measured. At the end, every host's tables are read once (`ip -j neigh`,
 * `bridge -j fdb`) to check that all endpoints are really there.
 *
 * Run as root: node test/bench/convergence.ts [--hosts 3,10,20] [--runs 20]
 * Prints a table and one JSON line. Not a CI gate. All N agents share this machine's cores:
 * the CPU busy share during the attaches and the load average are printed with the numbers.
 */

import { availableParallelism } from 'node:os'
import { createInterface } from 'node:readline'
import type { Lab, LabProcess } from '@swarmnet/lab'
import type { Endpoint } from './lib.ts'
import * as lib from './lib.ts'

const { attach, cpuSampler, createNetwork, formCluster, listArg, load1, neighText, now, numArg, pct } = lib
const { round, sleep, swJson, table, waitFor, withLab } = lib

const HOSTS = listArg('hosts', [3, 10, 20])
const RUNS = numArg('runs', 20)
const TARGET_P99_MS = 250
const TARGET_HOSTS = 20

interface Watch {
  proc: LabProcess
  /** `<first field> <mac>` → when the entry was first announced (ms since epoch). */
  seen: Map<string, number>
}

/** Follows a host's overlay neighbour + FDB notifications (both arrive on `ip monitor neigh`). */
async function watch(lab: Lab, host: number, vni: number): Promise<Watch> {
  const proc = await lab.spawn(host, ['ip', '-ts', '-n', `sn-ov-${vni}`, 'monitor', 'neigh'])
  const seen = new Map<string, number>()
  if (proc.stdout === null) throw new Error('ip monitor has no stdout')
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const arrived = now()
    const m = /^\[([\d-]+T[\d:.]+)\]\s*(\S+) dev vxlan0 lladdr ([0-9a-f:]+)/.exec(line)
    if (m === null) return // deletions ("Deleted …"), learned entries, other devices
    const stamped = new Date((m[1] ?? '').slice(0, 23)).getTime()
    const key = `${m[2]} ${m[3]}`
    if (!seen.has(key)) seen.set(key, Math.abs(stamped - arrived) < 5_000 ? stamped : arrived)
  })
  return { proc, seen }
}

interface Row {
  hosts: number
  runs: number
  missed: number
  p50: number
  p99: number
  max: number
  attachCmdP50: number
  cpuBusyPct: number
  load1: number
  verified: boolean
}

async function hasAll(lab: Lab, host: number, vni: number, eps: Array<Endpoint & { host: number }>) {
  const ns = `sn-ov-${vni}`
  const neigh = JSON.parse(
    (await lab.exec(host, ['ip', '-j', '-n', ns, 'neigh', 'show', 'dev', 'vxlan0'])).stdout || '[]',
  ) as Array<{ dst: string; lladdr?: string }>
  const fdb = JSON.parse(
    (await lab.exec(host, ['bridge', '-j', '-n', ns, 'fdb', 'show', 'dev', 'vxlan0'])).stdout || '[]',
  ) as Array<{ mac: string; dst?: string }>
  return eps
    .filter((e) => e.host !== host)
    .every(
      (e) =>
        neigh.some((n) => n.dst === e.ip && n.lladdr === e.mac) &&
        fdb.some((f) => f.mac === e.mac && f.dst === lab.hostAddress(e.host)),
    )
}

async function bench(n: number): Promise<Row> {
  return withLab('cv', n, async (lab) => {
    const hosts = Array.from({ length: n }, (_, i) => i + 1)
    console.error(`[${n} hosts] lab ${lab.name} up; forming the cluster`)
    await formCluster(lab, n)
    const vni = await createNetwork(lab, 'bench')
    const eps: Array<Endpoint & { host: number }> = []
    await waitFor(
      'every node ready',
      120_000,
      async () => {
        const nodes = await swJson<Array<{ status: string }>>(lab, 1, 'node', 'ls')
        return nodes.length === n && nodes.every((x) => x.status === 'ready') ? true : undefined
      },
      1_000,
    )
    // the agents are still busy after joining; one retry per host keeps a slow reply from ending the run
    for (const h of hosts) {
      const ep = await attach(lab, h, `b${h}`, 'bench').catch(() => attach(lab, h, `b${h}`, 'bench'))
      eps.push({ ...ep, host: h })
    }
    await waitFor(
      'the first endpoints on every host',
      120_000,
      async () => {
        const ok = await Promise.all(
          hosts.map(async (h) => {
            const t = await neighText(lab, h, vni)
            return eps.every((e) => e.host === h || t.includes(`${e.ip} `))
          }),
        )
        return ok.every(Boolean) || undefined
      },
      500,
    )
    const watches = await Promise.all(hosts.map((h) => watch(lab, h, vni)))
    await sleep(500) // let every monitor subscribe
    console.error(`[${n} hosts] converged; ${RUNS} attaches`)
    const lat: number[] = []
    const cmd: number[] = []
    let missed = 0
    const cpu = cpuSampler()
    try {
      for (let i = 0; i < RUNS; i++) {
        const h = 1 + Math.floor(Math.random() * n)
        const t0 = now()
        const ep = await attach(lab, h, `m${i}`, 'bench')
        const t1 = now()
        cmd.push(t1 - t0)
        eps.push({ ...ep, host: h })
        const keys = [`${ep.ip} ${ep.mac}`, `${lab.hostAddress(h)} ${ep.mac}`]
        const others = watches.filter((_, j) => j + 1 !== h)
        try {
          const last = await waitFor(
            `m${i} everywhere`,
            15_000,
            async () => {
              const ts = others.flatMap((w) => keys.map((k) => w.seen.get(k)))
              return ts.every((t) => t !== undefined) ? Math.max(...(ts as number[])) : undefined
            },
            5,
          )
          lat.push(Math.max(0, last - t1))
        } catch {
          missed++
        }
        await sleep(200 + Math.random() * 100)
      }
    } finally {
      for (const w of watches) await w.proc.kill().catch(() => undefined)
    }
    const busy = cpu()
    const verified = (await Promise.all(hosts.map((h) => hasAll(lab, h, vni, eps)))).every(Boolean)
    return {
      hosts: n,
      runs: RUNS,
      missed,
      p50: round(pct(lat, 50)),
      p99: round(pct(lat, 99)),
      max: round(Math.max(...lat)),
      attachCmdP50: round(pct(cmd, 50)),
      cpuBusyPct: busy,
      load1: load1(),
      verified,
    }
  })
}

const rows: Row[] = []
const failed: Array<{ hosts: number; error: string }> = []
for (const n of HOSTS) {
  try {
    rows.push(await bench(n))
  } catch (err) {
    failed.push({ hosts: n, error: String(err).split('\n')[0] ?? '' })
    console.log(`${n} hosts: FAILED (load1 ${load1()}): ${failed.at(-1)?.error}`)
  }
}
table(
  [
    'hosts',
    'attaches',
    'missed(>15s)',
    'p50 ms',
    'p99 ms',
    'max ms',
    'attach cmd p50 ms',
    'cpu busy %',
    'load1',
    'tables ok',
  ],
  rows.map((r) => [
    r.hosts,
    r.runs,
    r.missed,
    r.p50,
    r.p99,
    r.max,
    r.attachCmdP50,
    r.cpuBusyPct,
    r.load1,
    String(r.verified),
  ]),
)
const at = rows.find((r) => r.hosts === TARGET_HOSTS)
const met = at === undefined ? null : at.missed === 0 && at.p99 <= TARGET_P99_MS
console.log(
  at === undefined
    ? `target p99 ≤ ${TARGET_P99_MS} ms at ${TARGET_HOSTS} hosts: not measured (run with --hosts …,${TARGET_HOSTS})`
    : `target p99 ≤ ${TARGET_P99_MS} ms at ${TARGET_HOSTS} hosts: ${met ? 'met' : 'MISSED'} (p99 ${at.p99} ms, ${at.missed} missed; with ${at.runs} samples p99 is the max)`,
)
console.log(
  JSON.stringify({
    bench: 'convergence',
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    results: rows,
    failed,
    target: { p99Ms: TARGET_P99_MS, hosts: TARGET_HOSTS, met },
  }),
)
