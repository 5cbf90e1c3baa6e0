/**
 * How fast the CLI answers and how much a whoami task weighs, on a 1-host lab with a running
 * cluster and one whoami task (issue 10: ≤ 250 ms per verb, ≤ 60 MB per whoami).
 *
 * verbs:  `swarmnet version`, `swarmnet node ls`, `swarmnet service ps who`, each `--runs`
 *         times inside the lab host (a shell loop timing each process with `date +%s%N`, so no
 *         `lab exec` overhead is counted), and bare `node -e 0` as the floor; the median and
 *         the maximum of each.
 * whoami: RSS (VmRSS) of the task's Node process after 20 requests.
 *
 * Run as root: node test/bench/cli.ts [--runs 15]
 * Prints a table and one JSON line. Not a CI gate: every lab host shares this machine's cores.
 */
import type { Lab } from '@swarmnet/lab'
import * as lib from './lib.ts'

const { BIN, formCluster, load1, numArg, pct, sw, swOk, table, waitFor, withLab } = lib

const RUNS = numArg('runs', 15)
const NODE = process.execPath

interface Task {
  id: string
  state: string
}

/** Wall time in ms of each of `runs` runs of `argv` inside host 1 (stdout discarded). */
async function timeInHost(lab: Lab, argv: string[]): Promise<number[]> {
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const script = `for i in $(seq ${RUNS}); do s=$(date +%s%N); ${quoted} >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); done`
  const r = await lab.exec(1, ['bash', '-c', script])
  if (r.exitCode !== 0) throw new Error(`timing ${argv.join(' ')} failed: ${r.stderr}`)
  return r.stdout.trim().split('\n').map(Number)
}

const result = await withLab('cb', 1, async (lab) => {
  await formCluster(lab, 1)
  await swOk(lab, 1, 'service', 'create', '-d', '--name', 'who', '--', BIN, 'whoami', '--port', '8080')
  const task = await waitFor('whoami running', 60_000, async () => {
    const t = JSON.parse(await swOk(lab, 1, 'service', 'ps', 'who', '--format', 'json')) as Task[]
    return t.find((x) => x.state === 'running')
  })
  const curl = [
    'exec',
    task.id,
    '--',
    'sh',
    '-c',
    'for i in $(seq 20); do curl -s localhost:8080/ >/dev/null; done',
  ]
  await waitFor('whoami answering', 30_000, async () =>
    (await sw(lab, 1, ...curl)).exitCode === 0 ? true : undefined,
  )
  // the Node process itself (bin/swarmnet execs it), not the task's shim or a shell
  const pids = (await lab.exec(1, ['pgrep', '-f', 'main.js whoami --port 8080'])).stdout.trim().split('\n')
  let rssMb = 0
  for (const pid of pids) {
    const status = (await lab.exec(1, ['cat', `/proc/${pid}/status`])).stdout
    rssMb = Math.max(rssMb, Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024)
  }

  const verbs: Array<[string, string[]]> = [
    ['node -e 0 (floor)', [NODE, '-e', '0']],
    ['version', [BIN, 'version']],
    ['node ls', [BIN, 'node', 'ls']],
    ['service ps who', [BIN, 'service', 'ps', 'who']],
  ]
  const times: Record<string, { median: number; max: number }> = {}
  for (const [name, argv] of verbs) {
    const ms = await timeInHost(lab, argv)
    times[name] = { median: pct(ms, 50), max: Math.max(...ms) }
  }
  return { times, whoamiRssMb: Math.round(rssMb * 10) / 10 }
})

table(
  ['what', 'median ms', 'max ms', 'target'],
  Object.entries(result.times).map(([k, v]) => [k, v.median, v.max, k.includes('floor') ? '-' : '≤ 250']),
)
console.log(`whoami RSS ${result.whoamiRssMb} MB (target ≤ 60); runs ${RUNS}; load1 ${load1()}`)
console.log(
  JSON.stringify({
    bench: 'cli',
    date: new Date().toISOString(),
    runs: RUNS,
    medianMs: Object.fromEntries(Object.entries(result.times).map(([k, v]) => [k, v.median])),
    maxMs: Object.fromEntries(Object.entries(result.times).map(([k, v]) => [k, v.max])),
    whoamiRssMb: result.whoamiRssMb,
    load1: load1(),
  }),
)
