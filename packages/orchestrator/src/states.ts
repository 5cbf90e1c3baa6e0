import type { StatusReport, Task, TaskState } from './types.js'

/** swarmkit's numeric task states (`api/types.proto`): only ever move up. */
const RANKS: Readonly<Record<TaskState, number>> = {
  new: 0,
  pending: 64,
  assigned: 192,
  accepted: 256,
  preparing: 320,
  starting: 448,
  running: 512,
  complete: 576,
  shutdown: 640,
  failed: 704,
  rejected: 768,
  remove: 800,
  orphaned: 832,
}

/** All task states in rank order. */
export const TASK_STATES: readonly TaskState[] = (Object.keys(RANKS) as TaskState[]).sort(
  (a, b) => RANKS[a] - RANKS[b],
)

/** swarmkit's number for a state (new 0 … running 512 … orphaned 832). */
export function stateRank(state: TaskState): number {
  return RANKS[state]
}

/** True for a known state name. */
export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && Object.hasOwn(RANKS, value)
}

/** The task is over: past `running` (complete, shutdown, failed, rejected, remove, orphaned). */
export function isTerminal(state: TaskState): boolean {
  return RANKS[state] > RANKS.running
}

/** The task has not been handed to an agent yet (new, pending). */
export function isUndispatched(state: TaskState): boolean {
  return RANKS[state] < RANKS.assigned
}

/** A state may only move forward, and a terminal state is final. */
export function canTransition(from: TaskState, to: TaskState): boolean {
  return !isTerminal(from) && RANKS[to] > RANKS[from]
}

/**
 * The task after an agent's report: the new state stamped with `now`, plus the report's error and
 * exit code. A report that does not move the state forward (stale, repeated or backwards, or about a
 * task already over) is ignored and the same task object is returned.
 */
export function applyStatusReport(task: Task, report: StatusReport, now: number): Task {
  if (report.health !== undefined && report.health !== task.health && !isTerminal(task.state)) {
    const moved = applyStatusReport(task, { ...report, health: undefined }, now)
    const next: Task = { ...moved, health: report.health, updatedAt: now }
    // with a health check, "running" counts from the first healthy report
    if (report.health === 'healthy' && next.state === 'running') next.runningAt = now
    return next
  }
  if (!isTaskState(report.state) || !canTransition(task.state, report.state)) return task
  const next: Task = {
    ...task,
    state: report.state,
    error: report.error ?? task.error,
    statusAt: now,
    updatedAt: now,
  }
  if (report.exitCode !== undefined) next.exitCode = report.exitCode
  if (report.state === 'running' && (task.spec?.health === undefined || report.health === 'healthy'))
    next.runningAt = now
  return next
}
