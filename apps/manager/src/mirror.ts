/**
 * A store table in memory, kept from the store's own change feed: read once, then every
 * committed batch is applied as the store announces it (synchronously, after the write), so
 * a reader never sees a record the store does not hold. Hot paths read the mirror; the store
 * stays the truth and survives restarts.
 */
import type { AbortOptions } from '@swarmnet/interface'
import type { Change, Table } from '@swarmnet/store'

export class TableMirror<T> {
  readonly #rows = new Map<string, T>()
  #loaded: Promise<void> | undefined
  #unwatch: (() => void) | undefined
  #generation = 0

  /** `onChange` sees each change with the record it replaces, after the mirror holds it. */
  constructor(
    private readonly table: Table<T>,
    private readonly onChange?: (id: string, after: T | undefined, before: T | undefined) => void,
  ) {}

  /** Moves on every change: a cheap "did anything change" for derived caches. */
  get generation(): number {
    return this.#generation
  }

  load(options?: AbortOptions): Promise<void> {
    if (this.#loaded === undefined) {
      const early: Change<T>[] = []
      let ready = false
      this.#unwatch = this.table.watch((changes) => {
        if (ready) this.#apply(changes)
        else early.push(...changes)
      })
      this.#loaded = this.table.list(options).then(
        (entries) => {
          for (const e of entries) this.#set(e.id, e.value)
          ready = true
          this.#apply(early)
        },
        (err: unknown) => {
          this.close()
          throw err
        },
      )
    }
    return this.#loaded
  }

  /** Stops following the table and forgets it (a later {@link load} reads it again). */
  close(): void {
    this.#unwatch?.()
    this.#unwatch = undefined
    this.#loaded = undefined
    this.#rows.clear()
    this.#generation++
  }

  get(id: string): T | undefined {
    return this.#rows.get(id)
  }

  values(): T[] {
    return [...this.#rows.values()]
  }

  #apply(changes: readonly Change<T>[]): void {
    for (const c of changes) this.#set(c.id, c.type === 'put' ? c.value : undefined)
  }

  #set(id: string, value: T | undefined): void {
    const before = this.#rows.get(id)
    if (value === undefined) this.#rows.delete(id)
    else this.#rows.set(id, value)
    this.#generation++
    this.onChange?.(id, value, before)
  }
}
