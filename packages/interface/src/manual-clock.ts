import type { AbortOptions, Clock } from './index.js'

/**
 * A {@link Clock} that only moves when told to, for tests: `advance` runs due sleepers in
 * time order, letting queued work settle between them.
 */
export class ManualClock implements Clock {
  t: number
  readonly #timers: Array<{ at: number; resolve: () => void }> = []

  constructor(t = 1_700_000_000_000) {
    this.t = t
  }

  now(): number {
    return this.t
  }

  sleep(ms: number, options?: AbortOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = options?.signal
      if (signal?.aborted) return reject(signal.reason)
      const timer = { at: this.t + ms, resolve }
      const onAbort = (): void => {
        const i = this.#timers.indexOf(timer)
        if (i >= 0) this.#timers.splice(i, 1)
        reject(signal?.reason)
      }
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#timers.push(timer)
    })
  }

  async advance(ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      await settle()
      this.#timers.sort((a, b) => a.at - b.at)
      const next = this.#timers[0]
      if (next === undefined || next.at > end) break
      this.#timers.shift()
      this.t = Math.max(this.t, next.at)
      next.resolve()
    }
    this.t = end
    await settle()
  }
}

/** Lets queued microtasks and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r))
}
