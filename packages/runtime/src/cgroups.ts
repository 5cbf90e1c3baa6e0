/**
 * Resource limits through cgroups — pure planning (the I/O is in cgroup-fs.ts).
 *
 * Which mode: cgroup v2 when the memory and cpu controllers are not bound to a v1 hierarchy
 * (`/proc/cgroups` shows hierarchy 0 for them) and the unified hierarchy offers them; else the
 * v1 `memory` and `cpu` controllers (plus `cpuacct` for the usage counter) where the kernel
 * binds them; else none, and tasks with limits are refused. What is not mounted where the
 * agent runs (a lab host mounts a fresh sysfs, so its /sys/fs/cgroup is empty) is mounted under
 * the agent's own directory. v1 hierarchies are shared by the whole machine, so a node keeps
 * its tasks under a parent of its own, `swarmnet-<hostname>` (a lab removes its hosts' parents
 * when it goes down), one cgroup per task with limits under it.
 */

export type CgroupMode = 'v1' | 'v2' | 'none'

/** A v1 or v2 hierarchy visible in /proc/self/mountinfo. */
export interface CgroupMount {
  readonly fstype: 'cgroup' | 'cgroup2'
  readonly target: string
  /** v1: the controllers it carries (from its super options); v2: empty. */
  readonly controllers: readonly string[]
}

/** One `mount -t FSTYPE -o OPTIONS cgroup TARGET` the agent must do. */
export interface MountStep {
  readonly fstype: 'cgroup' | 'cgroup2'
  readonly options: string
  readonly target: string
}

export interface CgroupPlan {
  readonly mode: CgroupMode
  /** What to mount first (nothing when the host mounted everything). */
  readonly mounts: readonly MountStep[]
  /** Root directory per controller: v1 `memory`, `cpu`, `cpuacct`; v2 `unified`. */
  readonly roots: Readonly<Record<string, string>>
  /** Why the mode is `none`. */
  readonly reason?: string
}

/** What a task may use: CPU in nano-CPUs, memory in bytes. */
export interface TaskLimits {
  readonly nanoCpus?: number
  readonly memoryBytes?: number
}

/** The cgroup of one task: its directories, what to write there, and where to read back. */
export interface TaskCgroup {
  /** Created in this order (parents first), removed in reverse. */
  readonly dirs: readonly string[]
  /** [file, content] written before the task starts; the files must exist (optional ones too). */
  readonly writes: ReadonlyArray<readonly [string, string]>
  /** Writes that may fail (swap accounting may be off): [file, content]. */
  readonly optional: ReadonlyArray<readonly [string, string]>
  /** The task's supervisor writes its pid to each of these before it starts the task. */
  readonly procs: readonly string[]
  /** v2 `memory.events` (`oom_kill N`) or v1 `memory.oom_control` (`oom_kill N`). */
  readonly oomFile?: string
  /** v2 `cpu.stat` (`usage_usec N`, µs) or v1 `cpuacct.usage` (ns). */
  readonly usageFile?: string
}

const V1_NEEDED = ['memory', 'cpu'] as const
const V1_WANTED = ['memory', 'cpu', 'cpuacct'] as const
/** CFS period: 100 ms, Docker's. */
export const CPU_PERIOD_US = 100_000

/** Unescapes mountinfo's octal escapes (`\040` for a space). */
const unescapeOctal = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)))

/**
 * The cgroup hierarchies mounted and visible, from /proc/self/mountinfo. A mount that a later
 * mount covers (a lab host mounts a fresh sysfs over /sys, hiding the machine's
 * /sys/fs/cgroup/* it inherited) is not visible.
 */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const all: Array<{ target: string; fstype: string; superOptions: string }> = []
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ')
    if (left === undefined || right === undefined) continue
    const target = left.split(' ')[4]
    const [fstype = '', , superOptions = ''] = right.split(' ')
    if (target !== undefined) all.push({ target: unescapeOctal(target), fstype, superOptions })
  }
  const covered = (i: number, target: string): boolean =>
    all
      .slice(i + 1)
      .some((m) => target === m.target || target.startsWith(m.target === '/' ? '/' : `${m.target}/`))
  const known = new Set(['rw', 'ro', 'nsdelegate', 'memory_recursiveprot', 'clone_children', 'noprefix'])
  const out: CgroupMount[] = []
  all.forEach(({ target, fstype, superOptions }, i) => {
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || covered(i, target)) return
    const controllers =
      fstype === 'cgroup'
        ? superOptions.split(',').filter((o) => !known.has(o) && !o.includes('=') && o !== '')
        : []
    out.push({ fstype, target, controllers })
  })
  return out
}

/** Controller → hierarchy id of the enabled controllers, from /proc/cgroups. */
export function parseProcCgroups(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const [name, hierarchy, , enabled] = line.trim().split(/\s+/)
    if (name !== undefined && enabled === '1') out.set(name, Number(hierarchy))
  }
  return out
}

/**
 * Plans the mode and the mounts. `v2Controllers`: the content of `cgroup.controllers` at the
 * root of the unified hierarchy, when one is mounted (undefined: none mounted yet — plan one
 * and call again once it is mounted).
 */
export function planCgroups(facts: {
  procCgroups: string
  mountinfo: string
  mountDir: string
  v2Controllers?: string | undefined
}): CgroupPlan {
  const hierarchies = parseProcCgroups(facts.procCgroups)
  const mounts = parseCgroupMounts(facts.mountinfo)
  const unbound = V1_NEEDED.every((c) => hierarchies.get(c) === 0)
  if (unbound) {
    const v2 = mounts.find((m) => m.fstype === 'cgroup2')
    if (v2 === undefined) {
      const target = `${facts.mountDir}/unified`
      return {
        mode: 'v2',
        mounts: [{ fstype: 'cgroup2', options: 'rw', target }],
        roots: { unified: target },
      }
    }
    const offered = new Set((facts.v2Controllers ?? '').trim().split(/\s+/))
    if (V1_NEEDED.every((c) => offered.has(c)))
      return { mode: 'v2', mounts: [], roots: { unified: v2.target } }
    return {
      mode: 'none',
      mounts: [],
      roots: {},
      reason: `cgroup v2 at ${v2.target} does not offer the memory and cpu controllers`,
    }
  }
  if (!V1_NEEDED.every((c) => (hierarchies.get(c) ?? 0) > 0))
    return {
      mode: 'none',
      mounts: [],
      roots: {},
      reason: 'the kernel has neither cgroup v2 nor the v1 memory and cpu controllers',
    }
  const roots: Record<string, string> = {}
  const steps: MountStep[] = []
  for (const c of V1_WANTED) {
    const id = hierarchies.get(c) ?? 0
    if (id === 0) continue
    const mounted = mounts.find((m) => m.fstype === 'cgroup' && m.controllers.includes(c))
    if (mounted !== undefined) {
      roots[c] = mounted.target
      continue
    }
    // co-mounted controllers (cpu,cpuacct) share one hierarchy: mount them together
    const group = [...hierarchies]
      .filter(([, h]) => h === id)
      .map(([name]) => name)
      .sort()
      .join(',')
    const target = `${facts.mountDir}/${group}`
    if (!steps.some((s) => s.target === target)) steps.push({ fstype: 'cgroup', options: group, target })
    roots[c] = target
  }
  return { mode: 'v1', mounts: steps, roots }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/** The parent of a node's task cgroups: `swarmnet-<hostname>`. */
export function cgroupParent(hostname: string): string {
  const clean = hostname.replace(/[^A-Za-z0-9_.-]/g, '-')
  return `swarmnet-${clean || 'node'}`
}

/** The directories, writes and files of one task's cgroup under `parent`. */
export function taskCgroup(plan: CgroupPlan, parent: string, taskId: string, limits: TaskLimits): TaskCgroup {
  if (!NAME.test(parent) || !NAME.test(taskId)) throw new TypeError(`bad cgroup name ${parent}/${taskId}`)
  const quota =
    limits.nanoCpus !== undefined
      ? Math.max(1_000, Math.round((limits.nanoCpus * CPU_PERIOD_US) / 1e9))
      : undefined
  if (plan.mode === 'v2') {
    const root = plan.roots.unified ?? ''
    const dir = `${root}/${parent}/${taskId}`
    return {
      dirs: [`${root}/${parent}`, dir],
      writes: [
        [`${root}/cgroup.subtree_control`, '+memory +cpu'],
        [`${root}/${parent}/cgroup.subtree_control`, '+memory +cpu'],
        ...(limits.memoryBytes !== undefined
          ? [[`${dir}/memory.max`, String(limits.memoryBytes)] as const]
          : []),
        ...(quota !== undefined ? [[`${dir}/cpu.max`, `${quota} ${CPU_PERIOD_US}`] as const] : []),
      ],
      optional: limits.memoryBytes !== undefined ? [[`${dir}/memory.swap.max`, '0']] : [],
      procs: [`${dir}/cgroup.procs`],
      oomFile: `${dir}/memory.events`,
      usageFile: `${dir}/cpu.stat`,
    }
  }
  if (plan.mode === 'v1') {
    const at = (c: string) => `${plan.roots[c] ?? ''}/${parent}/${taskId}`
    const hierarchies = [...new Set(['memory', 'cpu', 'cpuacct'].filter((c) => plan.roots[c]).map(at))]
    const dirs = hierarchies.flatMap((d) => [d.slice(0, d.lastIndexOf('/')), d])
    return {
      dirs,
      writes: [
        ...(limits.memoryBytes !== undefined
          ? [[`${at('memory')}/memory.limit_in_bytes`, String(limits.memoryBytes)] as const]
          : []),
        ...(quota !== undefined
          ? ([
              [`${at('cpu')}/cpu.cfs_period_us`, String(CPU_PERIOD_US)],
              [`${at('cpu')}/cpu.cfs_quota_us`, String(quota)],
            ] as const)
          : []),
      ],
      // without swap accounting there is no memsw file: the limit then covers RAM only
      optional:
        limits.memoryBytes !== undefined
          ? [[`${at('memory')}/memory.memsw.limit_in_bytes`, String(limits.memoryBytes)]]
          : [],
      procs: hierarchies.map((d) => `${d}/cgroup.procs`),
      oomFile: `${at('memory')}/memory.oom_control`,
      ...(plan.roots.cpuacct ? { usageFile: `${at('cpuacct')}/cpuacct.usage` } : {}),
    }
  }
  throw new TypeError('no cgroups on this host')
}

/** The `oom_kill N` count of a v2 memory.events or v1 memory.oom_control file. */
export function oomKills(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text)
  return m?.[1] !== undefined ? Number(m[1]) : 0
}

/** CPU time used, in µs: v2 cpu.stat `usage_usec`, or v1 cpuacct.usage (ns). */
export function cpuUsageUs(text: string): number | undefined {
  const m = /^usage_usec (\d+)$/m.exec(text)
  if (m?.[1] !== undefined) return Number(m[1])
  const ns = /^(\d+)\s*$/.exec(text)
  return ns?.[1] !== undefined ? Math.floor(Number(ns[1]) / 1000) : undefined
}
