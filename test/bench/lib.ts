/**
 * Shared helpers of the lab benchmarks (test/bench/*.ts): a lab that is always torn down
 * (finally, SIGINT, SIGTERM), the CLI inside lab hosts, polling, flags, percentiles, a CPU-load
 * sampler and table output. Driving the CLI in lab hosts comes from test/lib/cluster.ts, shared
 * with the e2e tests.
 *
 * Node runs these files directly (type stripping), so relative imports name the `.ts` file
 * (test/tsconfig.json allows it).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import type { Lab } from '@swarmnet/lab'
import { createLab } from '@swarmnet/lab'
import { silentLogger } from '@swarmnet/logger'
import { swJson, swOk } from '../lib/cluster.ts'

export { BIN, createWhoami, formCluster, sw, swJson, swOk, waitFor } from '../lib/cluster.ts'

export const SOCKET = '/run/swarmnet/swarmnet.sock'

export const now = (): number => performance.timeOrigin + performance.now()
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** `--name 3,10,20` → [3, 10, 20]; the default when the flag is absent. */
export function listArg(name: string, dflt: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return dflt
  const v = (process.argv[i + 1] ?? '').split(',').map(Number)
  if (v.length === 0 || v.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`--${name} wants positive integers, e.g. --${name} ${dflt.join(',')}`)
  return v
}
export const numArg = (name: string, dflt: number): number => listArg(name, [dflt])[0] ?? dflt

/**
 * Brings up a lab with a unique name (`<prefix><hex>`, 8 chars), runs `fn`, and takes the lab
 * down afterwards — also on error, SIGINT and SIGTERM.
 */
export async function withLab<T>(
  prefix: string,
  hosts: number,
  fn: (lab: Lab) => Promise<T>,
  init: { vm?: boolean } = {},
): Promise<T> {
  const lab = createLab(
    { logger: silentLogger },
    { name: `${prefix}${randomBytes(4).toString('hex')}`.slice(0, 8), hosts, ...init },
  )
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: taking lab ${lab.name} down`)
    lab.down().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await lab.up()
    return await fn(lab)
  } finally {
    await lab.down().catch((err: unknown) => console.error(`lab ${lab.name} down failed: ${String(err)}`))
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * One call of the agent's local API through curl on its unix socket: a few ms, where a CLI
 * process costs a Node start (hundreds of ms on a loaded 2-core machine). Undefined when the
 * agent answers with an error.
 */
export async function api<T>(lab: Lab, host: number, apiPath: string, body: unknown): Promise<T | undefined> {
  const r = await lab.exec(host, [
    'curl',
    '-s',
    '--max-time',
    '5',
    '--unix-socket',
    SOCKET,
    '-H',
    'content-type: application/json',
    '--data-binary',
    JSON.stringify(body),
    `http://localhost${apiPath}`,
  ])
  if (r.exitCode !== 0) return undefined
  const v = JSON.parse(r.stdout) as unknown
  return v !== null && typeof v === 'object' && 'error' in v ? undefined : (v as T)
}

/** Creates an overlay network on host 1; returns its VNI (the namespace is `sn-ov-<vni>`). */
export async function createNetwork(lab: Lab, name: string): Promise<number> {
  await swOk(lab, 1, 'network', 'create', name)
  const nets = await swJson<Array<{ name: string; vni: number }>>(lab, 1, 'network', 'ls')
  const vni = nets.find((n) => n.name === name)?.vni
  if (vni === undefined) throw new Error(`network ${name} not listed after create`)
  return vni
}

export interface Endpoint {
  id: string
  ip: string
  mac: string
  namespace: string
}

export async function attach(lab: Lab, host: number, id: string, net: string): Promise<Endpoint> {
  return swJson<Endpoint>(lab, host, 'endpoint', 'attach', '--id', id, net)
}

/** Neighbour table of a host's overlay namespace as `ip` text (one `<ip> dev vxlan0 …` per line). */
export async function neighText(lab: Lab, host: number, vni: number): Promise<string> {
  return (await lab.exec(host, ['ip', '-n', `sn-ov-${vni}`, 'neigh', 'show', 'dev', 'vxlan0'])).stdout
}

/** Nearest-rank percentile of `xs` (p in 0..100). */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN
}

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits))

/** CPU busy share of the whole machine (all cores) since `start()`, from /proc/stat. */
export function cpuSampler(): () => number {
  const read = (): [number, number] => {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    const idle = (f[3] ?? 0) + (f[4] ?? 0)
    return [f.reduce((a, b) => a + b, 0), idle]
  }
  const [t0, i0] = read()
  return () => {
    const [t1, i1] = read()
    return t1 > t0 ? round((100 * (t1 - t0 - (i1 - i0))) / (t1 - t0)) : 0
  }
}

export const load1 = (): number => round(loadavg()[0] ?? 0, 2)

/** Prints rows as an aligned text table. */
export function table(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const width = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)))
  for (const r of cells) console.log(r.map((v, c) => v.padStart(width[c] ?? 0)).join('  '))
}
