/**
 * Service create → running and mutually reachable, on a 3-host lab with an overlay network.
 *
 * create: `--runs` times, `service create --replicas 3 --network bench -- swarmnet whoami
 *   --port 8080`, then `service rm` and wait until no task process or sandbox is left.
 * scale:  once, `service create --replicas 0`, then `service scale web=<--scale>` (default 30).
 *
 * Phases, observed from outside by polling; each is the time from the start of the create
 * (or scale) command until the condition first held, so each includes the ones before it:
 *   schedule      every task has a node (state ≥ assigned)        `POST /v1/services/ps` on
 *   start         every task running with its address              host 1's local socket (curl)
 *   gossip        every task IP is in every other host's neighbour table (`ip -n sn-ov-… neigh`)
 *   reachable     curl from each task to every other task's IP on :8080 answers
 *                 (`swarmnet exec TASK -- sh -c 'until curl …'`, one exec per source task, in
 *                 parallel; in the scale run one source task per host, to all tasks)
 * The task list is read through curl on the agent's socket because a `swarmnet service ps`
 * process costs a Node start (hundreds of ms here); even so, a poll round is tens of ms, so
 * every phase is an upper bound at that resolution.
 *
 * Run as root: node test/bench/service.ts [--runs 10] [--scale 30]
 * Prints a table and one JSON line. Not a CI gate.
 */
import { availableParallelism } from 'node:os'
import type { Lab } from '@swarmnet/lab'
import * as lib from './lib.ts'

const { BIN, api, createNetwork, formCluster, load1, neighText, now, numArg, pct, round, sw, swOk } = lib
const { table, waitFor, withLab } = lib

const RUNS = numArg('runs', 10)
const SCALE = numArg('scale', 30)
const HOSTS = 3
const ASSIGNED = new Set(['assigned', 'accepted', 'preparing', 'starting', 'running'])

interface Task {
  id: string
  node: string
  desiredState: string
  state: string
  addresses: Array<{ ip: string }>
}
interface Phases {
  command: number
  schedule: number
  start: number
  gossip: number
  reachable: number
}

const hostOf = (lab: Lab, node: string): number =>
  Array.from({ length: HOSTS }, (_, i) => i + 1).find((h) => lab.hostname(h) === node) ?? 0

async function tasks(lab: Lab): Promise<Task[]> {
  const all = (await api<Task[]>(lab, 1, '/v1/services/ps', { ref: 'web' })) ?? []
  return all.filter((t) => t.desiredState === 'running')
}

/** Runs the create or scale command, then times each phase until `want` tasks answer. */
async function measure(lab: Lab, vni: number, want: number, command: string[], allSources: boolean) {
  const t0 = now()
  await swOk(lab, 1, ...command)
  const p: Partial<Phases> = { command: now() - t0 }
  const running = await waitFor(
    `${want} running tasks`,
    180_000,
    async () => {
      const ts = await tasks(lab)
      if (ts.length !== want) return undefined
      if (p.schedule === undefined && ts.every((t) => ASSIGNED.has(t.state))) p.schedule = now() - t0
      return ts.every((t) => t.state === 'running' && t.addresses.length > 0) ? ts : undefined
    },
    20,
  )
  p.start = now() - t0
  p.schedule ??= p.start
  const ip = (t: Task): string => t.addresses[0]?.ip ?? ''
  await waitFor(
    'every task IP in every other host\u2019s neighbour table',
    60_000,
    async () => {
      const ok = await Promise.all(
        [1, 2, 3].map(async (h) => {
          const text = await neighText(lab, h, vni)
          return running.every((t) => hostOf(lab, t.node) === h || text.includes(`${ip(t)} `))
        }),
      )
      return ok.every(Boolean) || undefined
    },
    20,
  )
  p.gossip = now() - t0
  const sources = allSources
    ? running
    : [1, 2, 3].flatMap((h) => running.filter((t) => hostOf(lab, t.node) === h).slice(0, 1))
  const results = await Promise.all(
    sources.map((from) => {
      const targets = running.filter((t) => t.id !== from.id).map(ip)
      const loop = `for ip in ${targets.join(' ')}; do until curl -sf --max-time 1 -o /dev/null http://$ip:8080/; do sleep 0.02; done; done`
      return sw(lab, hostOf(lab, from.node), 'exec', from.id, '--', 'timeout', '60', 'sh', '-c', loop)
    }),
  )
  const bad = results.find((r) => r.exitCode !== 0)
  if (bad) throw new Error(`tasks did not reach each other within 60 s: ${bad.stderr}`)
  p.reachable = now() - t0
  return p as Phases
}

/** service rm web, then wait until no host has a whoami process or a task sandbox left. */
async function remove(lab: Lab): Promise<number> {
  const t0 = now()
  await swOk(lab, 1, 'service', 'rm', 'web')
  await waitFor(
    'service gone from every host',
    120_000,
    async () => {
      const left = await Promise.all(
        [1, 2, 3].map(async (h) => {
          const procs = (await lab.exec(h, ['pgrep', '-f', 'whoami --port'])).stdout.trim()
          const ns = (await lab.exec(h, ['ip', 'netns'])).stdout
          return procs !== '' || ns.includes('sn-ep-')
        }),
      )
      return left.some(Boolean) ? undefined : true
    },
    50,
  )
  return now() - t0
}

const create = ['service', 'create', '-d', '--name', 'web', '--network', 'bench']
const whoami = ['--', BIN, 'whoami', '--port', '8080']

const out = await withLab('sv', HOSTS, async (lab) => {
  await formCluster(lab, HOSTS)
  const vni = await createNetwork(lab, 'bench')
  const runs: Phases[] = []
  const removals: number[] = []
  for (let i = 0; i < RUNS; i++) {
    runs.push(await measure(lab, vni, 3, [...create, '--replicas', '3', ...whoami], true))
    removals.push(await remove(lab))
    console.error(`create run ${i + 1}/${RUNS}: ${round(runs.at(-1)?.reachable ?? 0)} ms`)
  }
  await swOk(lab, 1, ...create, '--replicas', '0', ...whoami)
  const scale = await measure(lab, vni, SCALE, ['service', 'scale', '-d', `web=${SCALE}`], false)
  await remove(lab)
  return { runs, removals, scale }
})

const phases = ['command', 'schedule', 'start', 'gossip', 'reachable'] as const
const summary = Object.fromEntries(
  phases.map((k) => {
    const xs = out.runs.map((r) => r[k])
    return [k, { p50: round(pct(xs, 50)), p99: round(pct(xs, 99)) }]
  }),
) as Record<(typeof phases)[number], { p50: number; p99: number }>
console.log(`create 3 replicas → reachable, ${RUNS} runs (ms from the start of the create command)`)
table(
  ['phase', 'p50 ms', 'p99 ms'],
  phases.map((k) => [k, summary[k].p50, summary[k].p99]),
)
console.log(`service rm → nothing left: p50 ${round(pct(out.removals, 50))} ms`)
console.log(`\nscale 0 → ${SCALE} (ms from the start of the scale command)`)
table(
  ['phase', 'ms'],
  phases.map((k) => [k, round(out.scale[k])]),
)
console.log(`load1 ${load1()}`)
console.log(
  JSON.stringify({
    bench: 'service',
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    hosts: HOSTS,
    runs: RUNS,
    create3: summary,
    rmP50: round(pct(out.removals, 50)),
    scaleTo: SCALE,
    scale: Object.fromEntries(phases.map((k) => [k, round(out.scale[k])])),
  }),
)
