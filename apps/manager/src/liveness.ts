/**
 * Node liveness, observed and never stored: a node is `ready` while its heartbeats arrive
 * within three periods, `down` after that, and `unknown` after a manager restart until it is
 * heard from again (or three periods pass).
 */
import type { Clock } from '@swarmnet/interface'

export const HEARTBEAT_PERIOD_MS = 5_000
/** Missed periods before a node is declared down (swarmkit: 3). */
export const DOWN_AFTER_PERIODS = 3

export class Liveness {
  /** Last heartbeat per node id, in clock milliseconds. */
  readonly #lastSeen = new Map<string, number>()
  #startedAt: number
  /** Silence after which a node is down: missed periods × the heartbeat period. */
  readonly #limitMs: number

  constructor(
    private readonly clock: Clock,
    heartbeatMs = HEARTBEAT_PERIOD_MS,
    downAfterPeriods = DOWN_AFTER_PERIODS,
  ) {
    this.#startedAt = clock.now()
    this.#limitMs = heartbeatMs * downAfterPeriods
  }

  /** The manager (re)started: nodes not heard from since are `unknown` for three periods. */
  restart(): void {
    this.#startedAt = this.clock.now()
  }

  seen(nodeId: string): void {
    this.#lastSeen.set(nodeId, this.clock.now())
  }

  forget(nodeId: string): void {
    this.#lastSeen.delete(nodeId)
  }

  status(nodeId: string): 'ready' | 'down' | 'unknown' {
    const now = this.clock.now()
    const seen = this.#lastSeen.get(nodeId)
    if (seen !== undefined) return now - seen <= this.#limitMs ? 'ready' : 'down'
    return now - this.#startedAt <= this.#limitMs ? 'unknown' : 'down'
  }

  /** When a node that is down went down (last heard, or the manager's start, plus the limit). */
  downSince(nodeId: string): number {
    return (this.#lastSeen.get(nodeId) ?? this.#startedAt) + this.#limitMs
  }
}
