import { isTerminal } from './states.js'
import type { RestartPolicy, Task } from './types.js'

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

/**
 * The restart policy applied to a task that ended (`isTerminal(task.state)`): `any` always,
 * `on-failure` after a failure only, `none` never; at most `maxAttempts` restarts per slot
 * (0 = unlimited); the replacement once `now ≥ task.statusAt + delayMs`.
 */
export function restartDecision(task: Task, policy: RestartPolicy, now: number): RestartDecision {
  if (!isTerminal(task.state)) throw new TypeError(`task ${task.id} has not ended (${task.state})`)
  if (policy.condition === 'none') return { kind: 'never', reason: 'condition' }
  if (policy.condition === 'on-failure' && !endedWithFailure(task))
    return { kind: 'never', reason: 'condition' }
  if (policy.maxAttempts > 0 && task.attempt >= policy.maxAttempts)
    return { kind: 'never', reason: 'max-attempts' }
  const at = task.statusAt + Math.max(0, policy.delayMs)
  return now >= at ? { kind: 'restart' } : { kind: 'wait', at }
}
