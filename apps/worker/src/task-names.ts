/** What a task is called on its node (hostname, DNS aliases) and how its state is reported. */
import type { TaskStatus } from '@swarmnet/runtime'
import type { Assignment, TaskReport } from '@swarmnet/wire'

/** A task's hostname: `<service>.<slot>` (global tasks: slot 0). */
export const hostnameOf = (a: Assignment): string => `${a.serviceName}.${a.slot}`.slice(0, 63)

/** The names a task answers to in DNS besides its service's: its hostname and its task name. */
export function aliasesOf(a: Assignment): string[] {
  const name = `${a.serviceName}.${a.slot}.${a.id}`
  return name.length <= 80 ? [hostnameOf(a), name] : [hostnameOf(a)]
}

/** Counts the changes of each task's reported state since the last reports (metrics). */
export function countTransitions(
  counters: { transitions?: Partial<Record<TaskReport['state'], number>> },
  reported: Map<string, TaskReport['state']>,
  reports: readonly TaskReport[],
): void {
  const t = counters.transitions ?? {}
  counters.transitions = t
  const now = new Map(reports.map((r) => [r.id, r.state]))
  for (const [id, state] of now) if (reported.get(id) !== state) t[state] = (t[state] ?? 0) + 1
  reported.clear()
  for (const [id, state] of now) reported.set(id, state)
}
/** Why a task failed when the kernel's OOM killer ended it (Docker's `OOMKilled`). */
export const OOM_REASON = 'OOM killed: the task reached its memory limit'

/** The report of a task from its runtime status and what the manager wants of it. */
export function reportOf(id: string, t: TaskStatus, desired: Assignment['desiredState']): TaskReport {
  if (t.state === 'running') return { id, state: 'running' }
  if (t.state === 'exited' && desired !== 'running')
    return { id, state: 'shutdown', ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}) }
  if (t.state === 'exited') {
    const code = t.exitCode ?? -1
    if (code !== 0 && t.oomKilled === true)
      return { id, state: 'failed', exitCode: code, error: `task: non-zero exit (${code}): ${OOM_REASON}` }
    return code === 0
      ? { id, state: 'complete', exitCode: 0 }
      : { id, state: 'failed', exitCode: code, error: `task: non-zero exit (${code})` }
  }
  return { id, state: 'failed', error: 'task state lost' }
}
