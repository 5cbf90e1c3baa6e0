/**
 * One writer per network: work is queued per key (a network id, or `#node` for
 * node-wide state) and runs FIFO per key; different keys run in parallel. A task may hold
 * several keys; it takes all of them in the same tick, so there is no lock order to get
 * wrong and no deadlock.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>()

  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)]
    const before = unique.map((k) => this.#tails.get(k) ?? Promise.resolve())
    const result = Promise.all(before).then(task)
    const tail = result.then(
      () => undefined,
      () => undefined,
    )
    for (const key of unique) {
      this.#tails.set(key, tail)
      void tail.then(() => {
        if (this.#tails.get(key) === tail) this.#tails.delete(key)
      })
    }
    return result
  }

  /** Keys with queued or running work. */
  get size(): number {
    return this.#tails.size
  }
}
