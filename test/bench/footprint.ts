/**
 * What an idle agent costs (issue 9: ≤ 1 % CPU, ≤ 120 MB RSS, ≤ 2 KB/s of underlay per node;
 * RSS growth < 10 % over five cycles of scale 0 → 20 → 0), on a 3-host lab with one
 * 3-replica whoami service on an overlay network.
 *
 * idle:   after the service runs and a settle period (`--settle`, default 15 s), one window of
 *         `--secs` (default 60 s) per host, all hosts sampled together at both ends:
 *         - agent CPU % of one core: utime + stime of the agent (/proc/PID/stat; stime, the
 *           kernel's share — forks, TLS and socket syscalls — also apart); its reaped
 *           children (cutime + cstime: the ip, bridge, nft … it spawned) shown apart;
 *         - RSS (VmRSS of /proc/PID/status) at the end of the window;
 *         - underlay bytes/s: rx + tx bytes of the host's eth0 (`ip -s -j link`);
 *         - processes/s: pids the host's pid namespace handed out (the pid of the probing shell
 *           at both ends: they are handed out in order), less the ones the probes took. Every process in the host counts: the agent's
 *           spawns, and any the tasks make (whoami makes none when idle).
 * churn:  `service scale web=0`, settled; RSS per host; then five times scale 20 → all
 *         running → scale 0 → settled, and RSS per host after each cycle; growth = last vs
 *         the one before the first cycle.
 *
 * --diagnose: where the idle cost goes instead of clean numbers: the agents run with
 * `--metrics-addr 127.0.0.1:9323` (scraped at both ends of the window: processes the dataplane
 * spawned, dataplane calls, endpoint gossip messages) and each host's eth0 is captured with
 * tcpdump during the window (frame bytes by service port: 2377 manager API, 7946 gossip, 4789
 * vxlan); at each RSS reading of the churn, the V8 heap used and external memory are scraped
 * too (a heap that grows is kept objects, an RSS that grows alone is the allocator). Both add
 * some load of their own.
 *
 * Run as root: node test/bench/footprint.ts [--secs 60] [--settle 15] [--cycles 5] [--scale 20] [--diagnose]
 * Prints tables and one JSON line. Not a CI gate: the lab's agents share this machine's cores.
 */
import { availableParallelism } from 'node:os'
import type { Lab } from '@swarmnet/lab'
import * as lib from './lib.ts'

const {
  api,
  createNetwork,
  createWhoami,
  formCluster,
  load1,
  numArg,
  round,
  sleep,
  swOk,
  table,
  waitFor,
  withLab,
} = lib

const SECS = numArg('secs', 60)
const SETTLE = numArg('settle', 15)
const CYCLES = numArg('cycles', 5)
const SCALE = numArg('scale', 20)
const DIAGNOSE = process.argv.includes('--diagnose')
const HOSTS = 3
const METRICS = '127.0.0.1:9323'
/** Metric series the diagnosis compares across the window. */
const SERIES = {
  dataplaneProcs: 'swarmnet_dataplane_processes_total',
  reconciles: 'swarmnet_reconcile_duration_seconds_count{kind="reconcile",outcome="ok"}',
  gossipIn: 'swarmnet_gossip_messages_total{direction="in"}',
  gossipOut: 'swarmnet_gossip_messages_total{direction="out"}',
  heapUsed: 'nodejs_heap_size_used_bytes',
  external: 'nodejs_external_memory_bytes',
} as const
const MB = 1e6

interface Task {
  desiredState: string
  state: string
}

/** One reading of a host: its agent's CPU ticks and RSS, its eth0 counters, the pid its shell got. */
interface Reading {
  at: number
  lastPid: number
  ticks: number
  /** of which in the kernel (stime): forks, TLS and socket syscalls */
  sysTicks: number
  childTicks: number
  rssKb: number
  underlayBytes: number
}

/** Reads everything in one shell per host (its spawns are subtracted, see `sampleCost`). */
const PROBE = [
  'pid=$(pgrep -x swarmnet-agent)',
  'read stat < /proc/$pid/stat',
  'rss=$(grep VmRSS /proc/$pid/status)',
  'echo "$$"',
  'echo "$stat"',
  'echo "$rss"',
  'ip -s -j link show dev eth0',
].join('; ')

async function read(lab: Lab, host: number): Promise<Reading> {
  const at = lib.now()
  const r = await lab.exec(host, ['sh', '-c', PROBE])
  if (r.exitCode !== 0) throw new Error(`probe of host ${host} failed: ${r.stderr}`)
  const [last = '', stat = '', rss = '', link = '[]'] = r.stdout.split('\n')
  // /proc/PID/stat fields after the ")" of comm: state is field 3, utime 14, stime 15, cutime 16, cstime 17
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number)
  const stats = (JSON.parse(link) as Array<{ stats64: { rx: { bytes: number }; tx: { bytes: number } } }>)[0]
  return {
    at,
    lastPid: Number(last),
    ticks: (f[11] ?? 0) + (f[12] ?? 0),
    sysTicks: f[12] ?? 0,
    childTicks: (f[13] ?? 0) + (f[14] ?? 0),
    rssKb: Number(/(\d+)/.exec(rss)?.[1] ?? 0),
    underlayBytes: (stats?.stats64.rx.bytes ?? 0) + (stats?.stats64.tx.bytes ?? 0),
  }
}

const readAll = (lab: Lab): Promise<Reading[]> =>
  Promise.all(Array.from({ length: HOSTS }, (_, i) => read(lab, i + 1)))

async function clockTicks(lab: Lab): Promise<number> {
  const hz = Number((await lab.exec(1, ['getconf', 'CLK_TCK'])).stdout.trim())
  return Number.isInteger(hz) && hz > 0 ? hz : 100
}

async function tasks(lab: Lab): Promise<Task[]> {
  return (await api<Task[]>(lab, 1, '/v1/services/ps', { ref: 'web' })) ?? []
}

/** Waits until `want` tasks run and every other one is over. */
async function settle(lab: Lab, want: number): Promise<void> {
  await waitFor(
    `${want} running tasks and nothing else alive`,
    180_000,
    async () => {
      const ts = await tasks(lab)
      const live = ts.filter((t) => t.desiredState === 'running')
      const over = ts.filter((t) => t.desiredState !== 'running')
      const done = new Set(['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove'])
      return live.length === want &&
        live.every((t) => t.state === 'running') &&
        over.every((t) => done.has(t.state))
        ? true
        : undefined
    },
    200,
  )
}

const rssMb = (r: Reading): number => round((r.rssKb * 1024) / MB, 1)

/** The SERIES values of one host's metrics. */
async function scrape(lab: Lab, host: number): Promise<Record<keyof typeof SERIES, number>> {
  const text = (await lab.exec(host, ['curl', '-sf', '--max-time', '5', `http://${METRICS}/metrics`])).stdout
  const value = (series: string): number =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.slice(series.length + 1) ?? Number.NaN,
    )
  return Object.fromEntries(Object.entries(SERIES).map(([k, v]) => [k, value(v)])) as Record<
    keyof typeof SERIES,
    number
  >
}

/** Frame bytes on a host's eth0 for `secs`, by service port (tcpdump -e gives frame lengths). */
async function capture(lab: Lab, host: number, secs: number): Promise<Record<string, number>> {
  const r = await lab.exec(host, [
    'timeout',
    String(secs),
    'tcpdump',
    '-i',
    'eth0',
    '-nn',
    '-q',
    '-t',
    '-e',
    '-l',
  ])
  const ports: Record<string, string> = { '2377': 'manager-api', '7946': 'gossip', '4789': 'vxlan' }
  const out: Record<string, number> = { 'manager-api': 0, gossip: 0, vxlan: 0, other: 0 }
  for (const line of r.stdout.split('\n')) {
    const m = /length (\d+): [\d.]+\.(\d+) > [\d.]+\.(\d+):/.exec(line)
    const len = Number(/length (\d+)/.exec(line)?.[1] ?? 0)
    const kind = (m && (ports[m[2] ?? ''] ?? ports[m[3] ?? ''])) ?? 'other'
    out[kind] = (out[kind] ?? 0) + len
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, round(v / secs)]))
}

const out = await withLab('met', HOSTS, async (lab) => {
  const hz = await clockTicks(lab)
  if (DIAGNOSE)
    for (let h = 1; h <= HOSTS; h++) await swOk(lab, h, 'agent', '--detach', '--metrics-addr', METRICS)
  await formCluster(lab, HOSTS)
  await createNetwork(lab, 'fpnet')
  await createWhoami(lab, 'web', 3, 'fpnet')
  await settle(lab, 3)
  console.error(`3 replicas running; settling ${SETTLE} s, then an idle window of ${SECS} s`)
  // a benchmark window, not a wait for a condition: the idle period is what is measured
  await sleep(SETTLE * 1000)
  const hostsList = Array.from({ length: HOSTS }, (_, i) => i + 1)
  const m0 = DIAGNOSE ? await Promise.all(hostsList.map((h) => scrape(lab, h))) : []
  const a = await readAll(lab)
  const a2 = await readAll(lab) // back to back: what one reading costs in pids
  const [, bytes] = await Promise.all([
    sleep(SECS * 1000),
    DIAGNOSE ? Promise.all(hostsList.map((h) => capture(lab, h, SECS))) : [],
  ])
  const b = await readAll(lab)
  const m1 = DIAGNOSE ? await Promise.all(hostsList.map((h) => scrape(lab, h))) : []
  const diagnosis = hostsList.map((h, i) => {
    const before = m0[i]
    const after = m1[i]
    if (before === undefined || after === undefined) return undefined
    const perSec = (k: keyof typeof SERIES): number => round((after[k] - before[k]) / SECS, 2)
    return {
      host: lab.hostname(h),
      dataplaneProcsPerSec: perSec('dataplaneProcs'),
      reconcilesPerSec: perSec('reconciles'),
      gossipInPerSec: perSec('gossipIn'),
      gossipOutPerSec: perSec('gossipOut'),
      bytesPerSecByPort: bytes[i] ?? {},
    }
  })
  const idle = a.map((r0, i) => {
    const r1 = b[i] as Reading
    const r0b = a2[i] as Reading
    const secs = (r1.at - r0.at) / 1000
    const sampleCost = r0b.lastPid - r0.lastPid
    return {
      host: lab.hostname(i + 1),
      cpuPct: round((100 * (r1.ticks - r0.ticks)) / hz / secs, 2),
      sysPct: round((100 * (r1.sysTicks - r0.sysTicks)) / hz / secs, 2),
      childCpuPct: round((100 * (r1.childTicks - r0.childTicks)) / hz / secs, 2),
      rssMb: rssMb(r1),
      underlayBps: round((r1.underlayBytes - r0.underlayBytes) / secs),
      procsPerSec: round((r1.lastPid - r0.lastPid - 2 * sampleCost) / secs, 2),
    }
  })
  console.error('idle window done; churn cycles')

  await swOk(lab, 1, 'service', 'scale', '-d', 'web=0')
  await settle(lab, 0)
  const rss: number[][] = [(await readAll(lab)).map(rssMb)]
  /** --diagnose: V8 heap used and external memory (MB) at the same moments as `rss` */
  const heap = async (): Promise<string[]> =>
    (await Promise.all(hostsList.map((h) => scrape(lab, h)))).map(
      (m) => `${round(m.heapUsed / MB, 1)}+${round(m.external / MB, 1)}`,
    )
  const heaps: string[][] = DIAGNOSE ? [await heap()] : []
  const peak: number[] = Array.from({ length: HOSTS }, () => 0)
  for (let c = 1; c <= CYCLES; c++) {
    const t0 = lib.now()
    await swOk(lab, 1, 'service', 'scale', '-d', `web=${SCALE}`)
    await settle(lab, SCALE)
    for (const [i, r] of (await readAll(lab)).entries()) peak[i] = Math.max(peak[i] ?? 0, rssMb(r))
    await swOk(lab, 1, 'service', 'scale', '-d', 'web=0')
    await settle(lab, 0)
    rss.push((await readAll(lab)).map(rssMb))
    if (DIAGNOSE) heaps.push(await heap())
    console.error(`cycle ${c}/${CYCLES}: ${round((lib.now() - t0) / 1000, 1)} s`)
  }
  return { idle, rss, peak, heaps, diagnosis: diagnosis.filter((d) => d !== undefined) }
})

console.log(`idle: 3 hosts, one 3-replica service, ${SECS} s window (agent CPU % of one core)`)
table(
  ['host', 'agent CPU %', 'of it sys %', 'children CPU %', 'RSS MB', 'underlay B/s', 'processes/s'],
  out.idle.map((r) => [r.host, r.cpuPct, r.sysPct, r.childCpuPct, r.rssMb, r.underlayBps, r.procsPerSec]),
)
if (out.diagnosis.length > 0) {
  console.log('\ndiagnosis (same window; metrics on, tcpdump running): per second')
  table(
    [
      'host',
      'dataplane procs',
      'reconciles',
      'gossip msgs in',
      'out',
      'B/s 2377',
      'B/s 7946',
      'B/s 4789',
      'B/s other',
    ],
    out.diagnosis.map((d) => [
      d.host,
      d.dataplaneProcsPerSec,
      d.reconcilesPerSec,
      d.gossipInPerSec,
      d.gossipOutPerSec,
      d.bytesPerSecByPort['manager-api'] ?? 0,
      d.bytesPerSecByPort.gossip ?? 0,
      d.bytesPerSecByPort.vxlan ?? 0,
      d.bytesPerSecByPort.other ?? 0,
    ]),
  )
}
console.log(`\nRSS (MB) at scale 0, before and after each of ${CYCLES} cycles of scale 0 → ${SCALE} → 0`)
const growth = out.idle.map((_, i) => {
  const first = out.rss[0]?.[i] ?? 0
  const last = out.rss.at(-1)?.[i] ?? 0
  return first > 0 ? round((100 * (last - first)) / first, 1) : Number.NaN
})
table(
  ['host', ...out.rss.map((_, c) => (c === 0 ? 'before' : `after ${c}`)), `peak at ${SCALE}`, 'growth %'],
  out.idle.map((r, i) => [r.host, ...out.rss.map((row) => row[i] ?? 0), out.peak[i] ?? 0, growth[i] ?? 0]),
)
if (out.heaps.length > 0) {
  console.log('\nV8 heap used + external memory (MB) at the same moments (--diagnose)')
  table(
    ['host', ...out.heaps.map((_, c) => (c === 0 ? 'before' : `after ${c}`))],
    out.idle.map((r, i) => [r.host, ...out.heaps.map((row) => row[i] ?? '')]),
  )
}
console.log(`load1 ${load1()}`)
console.log(
  JSON.stringify({
    bench: 'footprint',
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    hosts: HOSTS,
    secs: SECS,
    idle: out.idle,
    rss: out.rss,
    peak: out.peak,
    growthPct: growth,
    ...(out.diagnosis.length > 0 ? { diagnosis: out.diagnosis, heaps: out.heaps } : {}),
    load1: load1(),
  }),
)
