/**
 * The lab: `up` starts every holder, waits for all to be ready, then wires the underlay;
 * `down` (= destroyLab) kills them. Nothing lives only in memory: node pids are cached
 * but re-read from /proc when stale, so a Lab built in a fresh process (the CLI's
 * `lab exec`) drives a lab that another process brought up.
 *
 * Ordering of `up`:
 *  1. refuse if any process of that lab name exists (ConflictError; `down` first) — a
 *     running lab is never replaced silently;
 *  2. start all holders at once (switch, hosts, ext), each logging stderr under the state
 *     directory, and wait until each one's pid 1 is tini;
 *  3. the switch batch (bridge, veths into hosts and ext), then host and ext batches in
 *     parallel;
 *  any failure in 2–3 tears the partial lab down before rethrowing.
 *
 * Ordering of `destroyLab`: SIGKILL every marked process (pid 1 of a pid namespace takes
 * the whole namespace with it; the unshare parents are killed too), re-scan until none is
 * left (re-killing stragglers), then remove the state directory and the lab's cgroups
 * (cgroups.ts: v1 hierarchies are machine-wide). The namespaces are not
 * named anywhere, so they vanish with their last process: no mount, netns or veth remains
 * in the machine's namespaces.
 */
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import {
  type AbortOptions,
  ConflictError,
  type Logger,
  NotFoundError,
  SwarmnetError,
} from '@swarmnet/interface'
import { removeLabCgroups } from './cgroups.js'
import { type ExecOptions, type ExecResult, type LabProcess, runIn, safeKill, spawnIn } from './exec.js'
import { pathsToKeep, readyInits, repositoryRoot, startHolder, waitReady } from './holder.js'
import type { DestroyLabOptions, Lab, LabComponents, LabInit, LabNodeStatus, LabStatus } from './index.js'
import {
  addressOf,
  compareNodes,
  EXT_ADDRESS,
  hostAddress,
  hostnameOf,
  type LabNode,
  nodeId,
  parseNodeId,
  stateDirOf,
  UNDERLAY_GATEWAY,
  validateHostCount,
  validateLabName,
  validateMtu,
  validateNode,
} from './naming.js'
import { type MarkedProcess, readMarked, scanMarked } from './procfs.js'
import { extBatch, hostBatch, switchBatch } from './underlay.js'
import { sshArgv, sshEnv, tapBatch, vmDirOf } from './vm.js'
import { bootVms, prepareVms, type VmPlan } from './vm-lab.js'

const DEFAULT_READY_TIMEOUT_MS = 20_000
/** Boot under TCG takes 20-60 s per VM, more when several share 2 cores. */
const DEFAULT_VM_READY_TIMEOUT_MS = 300_000
const DEFAULT_DESTROY_TIMEOUT_MS = 20_000

export class LabImpl implements Lab {
  readonly name: string
  readonly hosts: number
  readonly extAddress = EXT_ADDRESS
  readonly gatewayAddress = UNDERLAY_GATEWAY
  private readonly log: Logger
  private readonly keep: string[]
  private readonly readyTimeoutMs: number
  private readonly mtu: number
  private readonly vm: boolean
  private readonly vmReadyTimeoutMs: number
  private readonly vmMemoryMb: number | undefined
  private readonly agentEnv: Readonly<Record<string, string>>
  private readonly repo: string | undefined
  private readonly pids = new Map<string, number>()

  constructor(components: LabComponents, init: LabInit) {
    this.name = validateLabName(init.name)
    this.hosts = validateHostCount(init.hosts, init.vm === true)
    this.log = components.logger
    this.readyTimeoutMs = init.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
    this.mtu = validateMtu(init.mtu ?? 1500)
    this.vm = init.vm ?? false
    this.vmReadyTimeoutMs = init.vmReadyTimeoutMs ?? DEFAULT_VM_READY_TIMEOUT_MS
    this.vmMemoryMb = init.vmMemoryMb
    this.agentEnv = init.agentEnv ?? {}
    const root = repositoryRoot()
    this.repo = root
    const { keep, dropped } = pathsToKeep([...(root !== undefined ? [root] : []), ...(init.keep ?? [])])
    if (dropped.length > 0) this.log.warn('paths cannot be kept visible inside the hosts', { paths: dropped })
    this.keep = keep
  }

  async up(options?: AbortOptions): Promise<void> {
    const signal = options?.signal
    signal?.throwIfAborted()
    const existing = await scanMarked(this.name)
    if (existing.length > 0) {
      throw new ConflictError(
        `lab '${this.name}' already exists (${existing.length} processes): take it down first ('swarmnet lab down --name ${this.name}')`,
      )
    }
    const dir = stateDirOf(this.name)
    await mkdir(dir, { recursive: true })
    const hostNodes = this.vm ? [] : Array.from({ length: this.hosts }, (_, i) => i + 1)
    const nodes: LabNode[] = ['switch', ...hostNodes, 'ext']
    const holders = new Map<string, { child: ChildProcess; log: string }>()
    this.log.info('bringing lab up', { lab: this.name, hosts: this.hosts, vm: this.vm, keep: this.keep })
    try {
      const plan = this.vm ? await this.prepareVms(options) : undefined
      for (const node of nodes) {
        const log = `${dir}/${nodeId(node)}.log`
        const fd = openSync(log, 'w')
        try {
          const child = startHolder({ lab: this.name, hosts: this.hosts, node, keep: this.keep, logFd: fd })
          child.on('error', (err) => this.log.error('holder did not start', { node: nodeId(node), err }))
          holders.set(nodeId(node), { child, log })
        } finally {
          closeSync(fd)
        }
      }
      const ready = await waitReady(this.name, holders, { timeoutMs: this.readyTimeoutMs, ...options })
      this.pids.clear()
      for (const [node, pid] of ready) this.pids.set(node, pid)
      await this.wire(options)
      if (plan !== undefined) await this.bootVms(plan, options)
      this.log.info('lab is up', { lab: this.name, hosts: this.hosts })
    } catch (err) {
      this.log.warn('lab up failed, tearing the partial lab down', { lab: this.name, err })
      await destroyLab(this.name, { logger: this.log })
      this.pids.clear()
      throw err
    }
  }

  async down(options?: AbortOptions): Promise<void> {
    this.pids.clear()
    await destroyLab(this.name, { logger: this.log, ...options })
  }

  async status(options?: AbortOptions): Promise<LabStatus> {
    options?.signal?.throwIfAborted()
    return buildStatus(this.name, this.hosts, await scanMarked(this.name))
  }

  async exec(node: LabNode, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const pid = await this.pid(node, options)
    if (typeof node === 'number' && (await readMarked(pid, this.name))?.vm === true) {
      const { env, ...rest } = options ?? {}
      const ssh = sshArgv(this.name, node, argv, env)
      return runIn(await this.pid('switch', options), ssh, { ...rest, env: sshEnv(this.name) }, 'net')
    }
    return runIn(pid, argv, options)
  }

  /** On a VM host the process is the local `ssh` client: kill ends the connection. */
  async spawn(node: LabNode, argv: readonly string[], options?: ExecOptions): Promise<LabProcess> {
    const pid = await this.pid(node, options)
    if (typeof node === 'number' && (await readMarked(pid, this.name))?.vm === true) {
      const { env, ...rest } = options ?? {}
      const ssh = sshArgv(this.name, node, argv, env)
      return spawnIn(await this.pid('switch', options), ssh, { ...rest, env: sshEnv(this.name) }, 'net')
    }
    return spawnIn(pid, argv, options)
  }

  hostAddress(host: number): string {
    validateNode(host, this.hosts)
    return hostAddress(host)
  }

  hostname(node: LabNode): string {
    return hostnameOf(this.name, validateNode(node, this.hosts))
  }

  async pid(node: LabNode, options?: AbortOptions): Promise<number> {
    options?.signal?.throwIfAborted()
    const id = nodeId(validateNode(node, this.hosts))
    const cached = this.pids.get(id)
    if (cached !== undefined) {
      const p = await readMarked(cached, this.name)
      if (p?.init === true && p.node === id) return cached
      this.pids.delete(id)
    }
    const pid = readyInits(await scanMarked(this.name)).get(id)
    if (pid === undefined) throw new NotFoundError(`lab '${this.name}' has no running node ${id}: is it up?`)
    this.pids.set(id, pid)
    return pid
  }

  private async prepareVms(options?: AbortOptions): Promise<VmPlan> {
    const init = {
      lab: this.name,
      hosts: this.hosts,
      repo: this.repo,
      agentEnv: this.agentEnv,
      log: this.log,
    }
    return prepareVms(init, options)
  }

  private async bootVms(plan: VmPlan, options?: AbortOptions): Promise<void> {
    const pids = await bootVms(
      {
        lab: this.name,
        hosts: this.hosts,
        switchPid: await this.pid('switch'),
        plan,
        timeoutMs: this.vmReadyTimeoutMs,
        log: this.log,
        ...(this.vmMemoryMb !== undefined ? { memoryMb: this.vmMemoryMb } : {}),
      },
      options,
    )
    for (const [host, pid] of pids) this.pids.set(nodeId(host), pid)
  }

  private async wire(options?: AbortOptions): Promise<void> {
    const hostPids: Array<[number, number]> = []
    if (!this.vm) for (let i = 1; i <= this.hosts; i++) hostPids.push([i, await this.pid(i)])
    const taps = this.vm ? tapBatch(Array.from({ length: this.hosts }, (_, i) => i + 1)) : ''
    await this.batch('switch', switchBatch(hostPids, await this.pid('ext'), this.mtu) + taps, options)
    await Promise.all([
      ...hostPids.map(([i]) => this.batch(i, hostBatch(i), options)),
      this.batch('ext', extBatch(), options),
    ])
  }

  /**
   * One `ip -batch -` process per namespace. Only the network namespace is entered: the
   * switch batch names hosts by their pid in this machine's pid namespace.
   */
  private async batch(node: LabNode, text: string, options?: AbortOptions): Promise<void> {
    const r = await runIn(await this.pid(node), ['ip', '-batch', '-'], { input: text, ...options }, 'net')
    if (r.exitCode !== 0) {
      throw new SwarmnetError(
        `lab ${this.name}: configuring node ${nodeId(node)} failed: ${r.stderr.trim()}`,
        'ERR_LAB_UNDERLAY',
      )
    }
  }
}

/**
 * Kills every process of lab `name` and waits until they are gone; works from any process.
 * Resolves to the number of processes killed (0: there was nothing to remove).
 */
export async function destroyLab(name: string, options?: DestroyLabOptions): Promise<number> {
  validateLabName(name)
  const timeoutMs = options?.timeoutMs ?? DEFAULT_DESTROY_TIMEOUT_MS
  const deadline = Date.now() + timeoutMs
  const seen = new Set<number>()
  let delay = 10
  for (;;) {
    options?.signal?.throwIfAborted()
    const procs = await scanMarked(name)
    // pid 1 of each namespace first: its death takes everything inside with it
    for (const p of procs.sort((a, b) => Number(b.init) - Number(a.init))) {
      seen.add(p.pid)
      safeKill(p.pid, 'SIGKILL')
    }
    // gone means reaped or a zombie: a dying pid 1 stays until its namespace is empty
    const alive = procs.length > 0 ? procs.map((p) => p.pid) : await stillRunning(seen)
    if (alive.length === 0) break
    if (Date.now() > deadline) {
      throw new SwarmnetError(
        `lab ${name}: processes ${alive.join(', ')} still alive after ${timeoutMs} ms`,
        'ERR_LAB_TEARDOWN',
      )
    }
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 100)
  }
  await rm(stateDirOf(name), { recursive: true, force: true })
  await rm(vmDirOf(name), { recursive: true, force: true })
  await removeLabCgroups(name, options?.logger)
  if (seen.size > 0) options?.logger?.info('lab is down', { lab: name, killed: seen.size })
  return seen.size
}

async function stillRunning(pids: ReadonlySet<number>): Promise<number[]> {
  const states = await Promise.all(
    [...pids].map(async (pid) => {
      try {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z' ? undefined : pid
      } catch {
        return undefined
      }
    }),
  )
  return states.filter((p): p is number => p !== undefined)
}

/** Every lab found in /proc, by name. */
export async function listLabs(options?: AbortOptions): Promise<LabStatus[]> {
  options?.signal?.throwIfAborted()
  const byLab = new Map<string, MarkedProcess[]>()
  for (const p of await scanMarked()) {
    const list = byLab.get(p.lab) ?? []
    list.push(p)
    byLab.set(p.lab, list)
  }
  return [...byLab]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([lab, procs]) => buildStatus(lab, Math.max(0, ...procs.map((p) => p.hosts)), procs))
}

function buildStatus(name: string, hosts: number, procs: readonly MarkedProcess[]): LabStatus {
  const ready = readyInits(procs)
  const ids = new Set<string>(['switch', 'ext'])
  for (let i = 1; i <= hosts; i++) ids.add(String(i))
  for (const p of procs) ids.add(p.node)
  const nodes: LabNodeStatus[] = []
  for (const id of ids) {
    const node = parseNodeId(id)
    if (node === undefined) continue
    const pid = ready.get(id)
    nodes.push({
      node,
      hostname: hostnameOf(name, node),
      address: addressOf(node),
      pid,
      running: pid !== undefined,
      vm: procs.some((p) => p.node === id && p.vm),
    })
  }
  nodes.sort((a, b) => compareNodes(a.node, b.node))
  return { name, hosts, running: nodes.every((n) => n.running), nodes }
}
