/**
 * @packageDocumentation
 * Types shared by every swarmnet package: cancellation, time, logging, lifecycle
 * and the base error class. No runtime dependencies.
 *
 * @example
 * ```ts
 * import { SwarmnetError, type AbortOptions } from '@swarmnet/interface'
 * async function work(options?: AbortOptions): Promise<void> { options?.signal?.throwIfAborted() }
 * ```
 */

/** Every async public method takes this last and forwards it. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** Injected time, so tests can run on a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after `ms`, or rejects with the signal's reason. */
  sleep(ms: number, options?: AbortOptions): Promise<void>
}

export type LogFields = Record<string, unknown>

/** A structured logger for one component (`swarmnet:<package>:<component>`). */
export interface Logger {
  readonly component: string
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A child logger for a sub-component: `swarmnet:a` → `swarmnet:a:b`. */
  child(name: string): Logger
}

/** Something with a lifecycle; the app starts and stops components in order. */
export interface Startable {
  start(options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
}

/** Base of all swarmnet errors: a stable `code` for tests and the CLI, never match on text. */
export class SwarmnetError extends Error {
  static readonly code: string = 'ERR_SWARMNET'
  readonly code: string
  constructor(message: string, code = 'ERR_SWARMNET', options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** Input from the user or the network failed validation. */
export class InvalidInputError extends SwarmnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_INVALID_INPUT', options)
  }
}

/** The requested object does not exist. */
export class NotFoundError extends SwarmnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_NOT_FOUND', options)
  }
}

/** The request conflicts with current state (duplicate name, in use, already joined). */
export class ConflictError extends SwarmnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_CONFLICT', options)
  }
}

/** A feature that is parsed but whose implementation has not landed. */
export class NotSupportedError extends SwarmnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_NOT_SUPPORTED', options)
  }
}

/** The system clock as a {@link Clock}. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, options) =>
    new Promise<void>((resolve, reject) => {
      const signal = options?.signal
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal?.reason)
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
}

/**
 * Runs async work one at a time, in call order; a failure is returned to its caller and
 * does not block the work queued after it.
 */
export function serialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return (fn) => {
    const next = tail.then(fn)
    tail = next.catch(() => undefined)
    return next
  }
}

export interface PeriodicInit {
  clock: Clock
  /** Pause between the end of one tick and the start of the next. */
  periodMs: number
  /** Stops the loop; it is also passed to every tick. */
  signal: AbortSignal
  tick(signal: AbortSignal): Promise<void>
  /** A tick's failure (never called after `signal` aborted). */
  onError(err: unknown): void
}

export interface Periodic {
  /** Runs the next tick now instead of at the end of the pause (coalesced). */
  wake(): void
  /** Settles once the loop has stopped. */
  readonly done: Promise<void>
}

/** Runs `tick` at once and then every `periodMs`, or sooner after `wake()`, until `signal` aborts. */
export function startPeriodic(init: PeriodicInit): Periodic {
  const { clock, periodMs, signal } = init
  let kick = new AbortController()
  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      kick = new AbortController()
      await init.tick(signal).catch((err: unknown) => {
        if (!signal.aborted) init.onError(err)
      })
      await clock.sleep(periodMs, { signal: AbortSignal.any([signal, kick.signal]) }).catch(() => undefined)
    }
  }
  return { wake: () => kick.abort(), done: loop() }
}

export { ManualClock, settle } from './manual-clock.js'
