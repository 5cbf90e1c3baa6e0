/**
 * The I/O half of cgroups.ts: reads what the kernel offers, mounts what is missing (once per
 * agent), creates and removes a task's cgroup, reads its OOM and CPU counters.
 */
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import {
  type CgroupPlan,
  cpuUsageUs,
  oomKills,
  planCgroups,
  type TaskCgroup,
  type TaskLimits,
  taskCgroup,
} from './cgroups.js'
import { TaskStartError } from './errors.js'
import { readIfExists } from './state.js'
import type { CgroupInfo } from './types.js'

export interface CgroupInit {
  /** Where missing hierarchies are mounted, e.g. /run/swarmnet/cgroup. */
  readonly mountDir: string
  /** The node's parent cgroup, `swarmnet-<hostname>` (cgroupParent). */
  readonly parent: string
}

/** What the runtime remembers of a task's cgroup (in its record). */
export interface TaskCgroupRecord {
  /** The task's own directories (one per hierarchy), removed with the task. */
  readonly dirs: readonly string[]
  readonly oomFile?: string
  readonly usageFile?: string
}

export class Cgroups {
  private planned: Promise<CgroupPlan> | undefined

  constructor(
    /** Absent: this runtime refuses limits. */
    private readonly init: CgroupInit | undefined,
    private readonly log: Logger,
    /** Runs `mount …`; resolves with its exit code and stderr. */
    private readonly run: (
      argv: readonly string[],
      options?: AbortOptions,
    ) => Promise<{ exitCode: number; stderr: string }>,
  ) {}

  /** The mode in force; mounts what is missing the first time. A failure is remembered as `none`. */
  plan(options?: AbortOptions): Promise<CgroupPlan> {
    this.planned ??= this.mountAll(options).catch((err: unknown) => {
      const reason = `cgroups could not be set up: ${(err as Error).message}`
      this.log.warn('no resource limits on this node', { reason })
      return { mode: 'none', mounts: [], roots: {}, reason } satisfies CgroupPlan
    })
    return this.planned
  }

  /** The mode and the node's parent directory per hierarchy (`info`). */
  async info(options?: AbortOptions): Promise<CgroupInfo> {
    const plan = await this.plan(options)
    const parent = this.init?.parent ?? ''
    return {
      mode: plan.mode,
      paths: Object.fromEntries(Object.entries(plan.roots).map(([k, root]) => [k, `${root}/${parent}`])),
      ...(plan.reason !== undefined ? { reason: plan.reason } : {}),
    }
  }

  /**
   * The cgroup of a task with limits, made before anything of it runs (undefined without
   * limits): what its record keeps and the files its supervisor joins. Refused without cgroups.
   */
  async forTask(
    taskId: string,
    limits: TaskLimits | undefined,
    options?: AbortOptions,
  ): Promise<{ record: TaskCgroupRecord; procs: readonly string[] } | undefined> {
    if (limits === undefined || (limits.memoryBytes === undefined && limits.nanoCpus === undefined))
      return undefined
    try {
      const cg = await this.create(taskId, limits, options)
      const record: TaskCgroupRecord = {
        dirs: cg.dirs.filter((d) => d.endsWith(`/${taskId}`)),
        ...(cg.oomFile !== undefined ? { oomFile: cg.oomFile } : {}),
        ...(cg.usageFile !== undefined ? { usageFile: cg.usageFile } : {}),
      }
      return { record, procs: cg.procs }
    } catch (err) {
      throw new TaskStartError(taskId, (err as Error).message, { cause: err })
    }
  }

  private async mountAll(options?: AbortOptions): Promise<CgroupPlan> {
    if (this.init === undefined)
      return { mode: 'none', mounts: [], roots: {}, reason: 'this runtime was given no cgroup set-up' }
    const init = this.init
    const facts = async () => {
      const mountinfo = await readFile('/proc/self/mountinfo', 'utf8')
      const v2 = mountinfo.split('\n').find((l) => l.includes(' - cgroup2 '))
      const target = v2?.split(' ')[4]
      return {
        procCgroups: (await readIfExists('/proc/cgroups')) ?? '',
        mountinfo,
        mountDir: init.mountDir,
        v2Controllers: target ? await readIfExists(`${target}/cgroup.controllers`) : undefined,
      }
    }
    let plan = planCgroups(await facts())
    for (const m of plan.mounts) {
      await mkdir(m.target, { recursive: true, mode: 0o755 })
      const r = await this.run(['mount', '-t', m.fstype, '-o', m.options, 'cgroup', m.target], options)
      if (r.exitCode !== 0)
        throw new Error(`mount -t ${m.fstype} -o ${m.options} at ${m.target}: ${r.stderr.trim()}`)
      this.log.info('cgroup hierarchy mounted', { fstype: m.fstype, options: m.options, target: m.target })
    }
    if (plan.mounts.length > 0) plan = planCgroups(await facts())
    this.log.info('cgroups', { mode: plan.mode, roots: plan.roots, reason: plan.reason })
    return plan
  }

  /** Creates the task's cgroup with its limits; the supervisor joins it (`procs`). */
  private async create(taskId: string, limits: TaskLimits, options?: AbortOptions): Promise<TaskCgroup> {
    const plan = await this.plan(options)
    if (plan.mode === 'none' || this.init === undefined)
      throw new Error(`resource limits need cgroups, and this node has none: ${plan.reason ?? 'unknown'}`)
    const cg = taskCgroup(plan, this.init.parent, taskId, limits)
    for (const d of cg.dirs) await mkdir(d, { recursive: true })
    for (const [file, content] of cg.writes) await writeFile(file, content)
    for (const [file, content] of cg.optional) await writeFile(file, content).catch(() => undefined)
    return cg
  }

  /** The task's own cgroup directories go (they must be empty: call once its processes are gone). */
  async remove(rec: TaskCgroupRecord): Promise<void> {
    for (const d of [...rec.dirs].reverse())
      await rmdir(d).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.log.warn('task cgroup not removed', { dir: d, err: err.message })
      })
  }

  /** The node's parent cgroups go (the node leaves: its tasks are removed first). */
  async releaseParent(): Promise<void> {
    if (this.planned === undefined || this.init === undefined) return
    const plan = await this.planned
    for (const root of new Set(Object.values(plan.roots)))
      await this.remove({ dirs: [`${root}/${this.init.parent}`] })
  }

  /** The kernel's OOM killer killed a process of the task. */
  async oomKilled(rec: TaskCgroupRecord): Promise<boolean> {
    if (rec.oomFile === undefined) return false
    return oomKills((await readIfExists(rec.oomFile)) ?? '') > 0
  }

  /** CPU time the task used so far, µs. */
  async cpuUsageUs(rec: TaskCgroupRecord): Promise<number | undefined> {
    if (rec.usageFile === undefined) return undefined
    return cpuUsageUs((await readIfExists(rec.usageFile)) ?? '')
  }
}
