/**
 * First-request latency through the routing mesh vs straight to the task, side by side in one
 * run, on a lab of 2 real agents. One whoami task on host 1, published twice: `-p 8080:8080`
 * (ingress: host DNAT → ingress namespace → balancer → the task's ingress leg, REDIRECT) and
 * `mode=host` on 8081 (the host's DNAT straight to the task's gateway-bridge leg). From the
 * lab's ext host, each request is a new TCP connection (`curl` per request, its
 * `time_connect` and `time_total`), interleaved over three paths:
 *   direct     ext → host 1:8081  (host mode: straight to the task)
 *   mesh-local ext → host 1:8080  (ingress, the task on the node that took the packet)
 *   mesh-remote ext → host 2:8080 (ingress, the task across the vxlan)
 *
 * Run as root: node test/bench/mesh-latency.ts [--runs 50]
 * Prints a table and one JSON line. Not a CI gate.
 */
import type { Lab } from '@swarmnet/lab'
import * as lib from './lib.ts'

const { BIN, formCluster, load1, numArg, pct, round, swJson, swOk, table, waitFor, withLab } = lib
const RUNS = numArg('runs', 50)

interface Sample {
  connect: number
  total: number
}

/** One curl from ext, a new connection: its connect and total times in ms (undefined on failure). */
async function once(lab: Lab, addr: string, port: number): Promise<Sample | undefined> {
  const r = await lab.exec('ext', [
    'curl',
    '-s',
    '-o',
    '/dev/null',
    '--max-time',
    '3',
    '-w',
    '%{time_connect} %{time_total}',
    `http://${addr}:${port}/`,
  ])
  if (r.exitCode !== 0) return undefined
  const [c, t] = r.stdout.trim().split(' ').map(Number)
  return { connect: (c ?? 0) * 1000, total: (t ?? 0) * 1000 }
}

await withLab('mlat', 2, async (lab) => {
  await formCluster(lab, 2)
  const h1 = lab.hostname(1)
  await swOk(
    lab,
    1,
    'service',
    'create',
    '-d',
    '--name',
    'web',
    '--constraint',
    `node.hostname==${h1}`,
    '-p',
    '8080:8080',
    '--publish',
    'published=8081,target=8080,mode=host',
    '--',
    BIN,
    'whoami',
    '--port',
    '8080',
  )
  await waitFor('web running', 90_000, async () => {
    const rows = await swJson<Array<{ state: string; desiredState: string }>>(lab, 1, 'service', 'ps', 'web')
    return rows.some((t) => t.state === 'running') ? true : undefined
  })
  const paths = [
    { name: 'direct', addr: lab.hostAddress(1), port: 8081 },
    { name: 'mesh-local', addr: lab.hostAddress(1), port: 8080 },
    { name: 'mesh-remote', addr: lab.hostAddress(2), port: 8080 },
  ]
  for (const p of paths)
    await waitFor(`${p.name} answers`, 30_000, async () =>
      (await once(lab, p.addr, p.port)) ? true : undefined,
    )
  const samples = new Map(paths.map((p) => [p.name, [] as Sample[]]))
  let failed = 0
  for (let i = 0; i < RUNS; i++)
    for (const p of paths) {
      const s = await once(lab, p.addr, p.port)
      if (s === undefined) failed++
      else samples.get(p.name)?.push(s)
    }
  const rows = paths.map((p) => {
    const xs = samples.get(p.name) ?? []
    const c = xs.map((s) => s.connect)
    const t = xs.map((s) => s.total)
    return [
      p.name,
      xs.length,
      round(pct(c, 50), 2),
      round(pct(t, 50), 2),
      round(pct(t, 90), 2),
      round(Math.max(...t), 2),
    ]
  })
  console.log(`first-request latency from ext, ${RUNS} new connections per path, load ${load1()}`)
  table(['path', 'n', 'connect p50 ms', 'total p50 ms', 'total p90 ms', 'total max ms'], rows)
  const p50 = (name: string) =>
    pct(
      (samples.get(name) ?? []).map((s) => s.total),
      50,
    )
  console.log(
    JSON.stringify({
      bench: 'mesh-latency',
      runs: RUNS,
      failed,
      load: load1(),
      totalP50Ms: Object.fromEntries(paths.map((p) => [p.name, round(p50(p.name), 2)])),
      meshOverDirect: round(p50('mesh-local') / p50('direct'), 2),
      remoteOverDirect: round(p50('mesh-remote') / p50('direct'), 2),
    }),
  )
})
