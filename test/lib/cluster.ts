/**
 * Helpers for lab e2e tests and lab benchmarks that drive the real CLI (`bin/swarmnet`) inside
 * lab hosts.
 * Conditions are awaited by polling with a deadline, never by fixed sleeps.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_GATEWAY_BRIDGE, lbNamespace, overlayNamespace, sandboxNamespace } from '@swarmnet/dataplane'
import type { ExecResult, Lab } from '@swarmnet/lab'
import { createLab } from '@swarmnet/lab'
import { silentLogger } from '@swarmnet/logger'

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/swarmnet')

/** A lab with a unique name per run so parallel or crashed runs never collide. */
export function newLab(prefix: string, hosts: number, init: { mtu?: number } = {}): Lab {
  return createLab(
    { logger: silentLogger },
    { name: `${prefix}${randomBytes(3).toString('hex')}`.slice(0, 8), hosts, ...init },
  )
}

export async function sw(lab: Lab, host: number, ...args: string[]): Promise<ExecResult> {
  return lab.exec(host, [BIN, ...args], { signal: AbortSignal.timeout(150_000) })
}

/** Runs the CLI and fails with its output if it exits non-zero. */
export async function swOk(lab: Lab, host: number, ...args: string[]): Promise<string> {
  const r = await sw(lab, host, ...args)
  if (r.exitCode !== 0)
    throw new Error(`swarmnet ${args.join(' ')} on host ${host} exited ${r.exitCode}: ${r.stderr}${r.stdout}`)
  return r.stdout
}

export async function swJson<T>(lab: Lab, host: number, ...args: string[]): Promise<T> {
  return JSON.parse(await swOk(lab, host, ...args, '--format', 'json')) as T
}

/** `network ls` without the ingress network every cluster has (since 0.6): the networks a test made. */
export async function userNetworks<T>(lab: Lab, host: number): Promise<T[]> {
  const all = await swJson<Array<T & { name: string; ingress?: boolean }>>(lab, host, 'network', 'ls')
  return all.filter((n) => n.ingress !== true && n.name !== 'ingress')
}

/**
 * Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`.
 * Polls every `intervalMs` when given, else backs off from 100 ms to 1 s.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  intervalMs?: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (let delay = intervalMs ?? 100; ; delay = intervalMs ?? Math.min(delay * 1.5, 1_000)) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, delay))
  }
}

export interface NodeJson {
  id: string
  hostname: string
  role: 'manager' | 'worker'
  status: 'ready' | 'down' | 'unknown'
  availability: string
  addr: string
}

/** init on host 1, join hosts 2..n as workers; returns the worker token. */
export async function formCluster(lab: Lab, hosts: number): Promise<string> {
  await swOk(lab, 1, 'init', '--advertise-addr', lab.hostAddress(1))
  const token = (await swOk(lab, 1, 'join-token', '-q', 'worker')).trim()
  for (let h = 2; h <= hosts; h++) await swOk(lab, h, 'join', '--token', token, lab.hostAddress(1))
  return token
}

export async function nodesByHost(lab: Lab): Promise<Map<string, NodeJson>> {
  const nodes = await swJson<NodeJson[]>(lab, 1, 'node', 'ls')
  return new Map(nodes.map((n) => [n.hostname, n]))
}

/**
 * kill -9 of every swarmnet process of a lab host: the agent (by its process title, which
 * replaces its argv) and any CLI or task process (by the script in their argv).
 */
export async function killSwarmnet(lab: Lab, host: number): Promise<void> {
  await lab.exec(host, ['pkill', '-9', '-x', 'swarmnet-agent'])
  await lab.exec(host, ['pkill', '-9', '-f', 'apps/cli/dist/main.js'])
}

/** Prints the tail of each host's agent log: call it when a test failed, to see why. */
export async function dumpAgentLogs(lab: Lab, hosts: number, lines = 60): Promise<void> {
  for (let h = 1; h <= hosts; h++) {
    const r = await lab
      .exec(h, ['tail', '-n', String(lines), '/var/log/swarmnet/agent.log'])
      .catch(() => undefined)
    console.log(`----- agent log of ${lab.hostname(h)} -----\n${r?.stdout ?? '(none)'}`)
  }
}

/** One row of `service ps --format json`. */
export interface TaskJson {
  id: string
  name: string
  service: string
  slot: number
  node: string
  desiredState: string
  state: string
  error: string
  addresses: Array<{ network: string; ip: string; mac: string }>
  /** Since 0.5. */
  createdAt?: string
  currentState?: string
  health?: 'starting' | 'healthy' | 'unhealthy'
}

const OVER = new Set(['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove'])

/**
 * Every row of a service settled: exactly `want` rows desired running, each running with one
 * address per network, and every other row desired shutdown/remove and over. Undefined until then.
 */
export function settledRows(rows: readonly TaskJson[], want: number, networks = 1): TaskJson[] | undefined {
  const live = rows.filter((t) => t.desiredState === 'running')
  if (live.length !== want) return undefined
  if (!live.every((t) => t.state === 'running' && t.addresses.length === networks)) return undefined
  if (!rows.every((t) => t.desiredState === 'running' || OVER.has(t.state))) return undefined
  return live
}

/** Rows that went wrong: rejected or failed. */
export function badRows(rows: readonly TaskJson[]): TaskJson[] {
  return rows.filter((t) => t.state === 'rejected' || t.state === 'failed')
}

/** Task transitions into rejected/failed counted by each host's agent since it started. */
export async function taskFailures(lab: Lab, hosts: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (let h = 1; h <= hosts; h++) {
    const info = await swJson<{ tasks: { rejected: number; failed: number } }>(lab, h, 'info')
    out[lab.hostname(h)] = info.tasks.rejected + info.tasks.failed
  }
  return out
}

/** Running rows that share an IP on a network (must be none). */
export function duplicateIps(rows: readonly TaskJson[]): string[] {
  const seen = new Map<string, string>()
  const dups: string[] = []
  for (const t of rows.filter((r) => r.state === 'running'))
    for (const a of t.addresses) {
      const key = `${a.network}/${a.ip}`
      const other = seen.get(key)
      if (other !== undefined) dups.push(`${key}: ${other} and ${t.id}`)
      else seen.set(key, t.id)
    }
  return dups
}

/**
 * What a host still has of swarmnet's tasks: sandbox namespaces, sn and ve- links, whoami
 * processes — not the ingress mesh every node keeps (its overlay and LB namespaces, the
 * gateway bridge and the ingress leg), which lives as long as the node is in the cluster.
 */
export async function taskLeftovers(lab: Lab, host: number): Promise<string> {
  const ingress = await swJson<Array<{ vni: number }>>(lab, 1, 'network', 'inspect', 'ingress')
    .then((n) => n[0]?.vni)
    .catch(() => undefined)
  const mesh = new Set(
    ingress === undefined
      ? []
      : [overlayNamespace(ingress), lbNamespace(ingress), `sngw-_${ingress}`, DEFAULT_GATEWAY_BRIDGE],
  )
  const ns = (await lab.exec(host, ['ip', 'netns'])).stdout
    .split('\n')
    .filter((l) => l.trim().length > 0 && !mesh.has(l.split(' ')[0] ?? ''))
    .join('\n')
  const links = (await lab.exec(host, ['ip', '-br', 'link'])).stdout
    .split('\n')
    .filter((l) => /^(sn|ve-)/.test(l) && !mesh.has(l.split(/[\s@]/)[0] ?? ''))
    .join('\n')
  const procs = (await lab.exec(host, ['pgrep', '-f', 'whoami'])).stdout.trim()
  return [ns, links, procs].filter((x) => x.length > 0).join('\n')
}

/** argv that fetches `http://ip:8080/` from inside task `fromTask`'s sandbox (run it on its host). */
export function curlFromTask(fromTask: string, ip: string, maxTimeS: number): string[] {
  return [
    'ip',
    'netns',
    'exec',
    sandboxNamespace(fromTask),
    'curl',
    '-s',
    '--max-time',
    String(maxTimeS),
    `http://${ip}:8080/`,
  ]
}

/** `service create` of a whoami service (answers on :8080) with `replicas` tasks on `network`. */
export async function createWhoami(lab: Lab, name: string, replicas: number, network: string): Promise<void> {
  const whoami = [BIN, 'whoami', '--port', '8080']
  await swOk(
    lab,
    1,
    'service',
    'create',
    '-d',
    '--name',
    name,
    '--replicas',
    String(replicas),
    '--network',
    network,
    '--',
    ...whoami,
  )
}

/** A neighbour entry as `ip -j neigh` shows it. */
export interface NeighJson {
  dst: string
  lladdr?: string
  state?: string[]
}

/** An FDB entry as `bridge -j fdb` shows it (`dst`: the VTEP, on our static vxlan entries). */
export interface FdbJson {
  mac: string
  dst?: string
}

/** The neighbour and FDB entries on `vxlan0` in host `host`'s namespace of network `vni`. */
export async function overlayTables(
  lab: Lab,
  host: number,
  vni: number,
): Promise<{ neigh: NeighJson[]; fdb: FdbJson[] }> {
  const ns = `sn-ov-${vni}`
  const [n, f] = await Promise.all([
    lab.exec(host, ['ip', '-j', '-n', ns, 'neigh', 'show', 'dev', 'vxlan0']),
    lab.exec(host, ['bridge', '-j', '-n', ns, 'fdb', 'show', 'dev', 'vxlan0']),
  ])
  return {
    neigh: JSON.parse(n.stdout || '[]') as NeighJson[],
    fdb: JSON.parse(f.stdout || '[]') as FdbJson[],
  }
}
