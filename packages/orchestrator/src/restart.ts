import { isTerminal } from './states.js'
import type { RestartPolicy, Task } from './types.js'

/** The back-off resets after a task ran this long when the policy has no window. */
export const DEFAULT_RESTART_WINDOW_MS = 60_000
/** The back-off never waits longer than this many times the configured delay. */
export const MAX_BACKOFF_FACTOR = 10

/** What to do with a slot whose current task has ended. */
export type RestartDecision =
  /** Create the replacement now. */
  | { kind: 'restart' }
  /** Allowed, but not before `at` (the task's end + the delay). */
  | { kind: 'wait'; at: number }
  /** The policy forbids it: the slot is done. */
  | { kind: 'never'; reason: 'condition' | 'max-attempts' }

/** Ended badly: anything but a clean `complete` with exit code 0. */
export function endedWithFailure(task: Task): boolean {
  return task.state !== 'complete' || (task.exitCode ?? 0) !== 0
}

/** The task ran for the policy's window (or 60 s) before it ended: its slot's back-off resets. */
export function ranLong(task: Task, policy: RestartPolicy): boolean {
  const window = policy.windowMs || DEFAULT_RESTART_WINDOW_MS
  return task.runningAt !== undefined && task.statusAt - task.runningAt >= window
}

/**
 * The slot's consecutive failures counting this ended task: the replacement's `streak`. A task
 * that ran for the window starts a new count.
 */
export function nextStreak(task: Task, policy: RestartPolicy): number {
  return ranLong(task, policy) ? 1 : (task.streak ?? 0) + 1
}

/**
 * The wait before the replacement of an ended task: `delayMs`, doubled for each consecutive
 * failure of the slot before it, at most {@link MAX_BACKOFF_FACTOR} × `delayMs`.
 */
export function restartDelay(task: Task, policy: RestartPolicy): number {
  const base = Math.max(0, policy.delayMs)
  const streak = ranLong(task, policy) ? 0 : (task.streak ?? 0)
  return Math.min(base * 2 ** Math.min(streak, 31), base * MAX_BACKOFF_FACTOR)
}

/**
 * The restart policy applied to a task that ended (`isTerminal(task.state)`): `any` always,
 * `on-failure` after a failure only, `none` never; at most `maxAttempts` restarts per slot
 * since its spec last changed (0 = unlimited); the replacement once `now ≥ task.statusAt +`
 * {@link restartDelay}.
 */
export function restartDecision(task: Task, policy: RestartPolicy, now: number): RestartDecision {
  if (!isTerminal(task.state)) throw new TypeError(`task ${task.id} has not ended (${task.state})`)
  if (policy.condition === 'none') return { kind: 'never', reason: 'condition' }
  if (policy.condition === 'on-failure' && !endedWithFailure(task))
    return { kind: 'never', reason: 'condition' }
  if (policy.maxAttempts > 0 && task.attempt - (task.attemptBase ?? 0) >= policy.maxAttempts)
    return { kind: 'never', reason: 'max-attempts' }
  const at = task.statusAt + restartDelay(task, policy)
  return now >= at ? { kind: 'restart' } : { kind: 'wait', at }
}
