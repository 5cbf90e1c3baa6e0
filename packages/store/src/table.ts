import type { AbortOptions } from '@swarmnet/interface'
import type { BatchOp, Change, Entry, Schema, Table } from './index.js'
import type { LevelStore } from './store.js'

/** A typed view of one sublevel; all I/O goes through the store so batches and watchers see it. */
export class LevelTable<T> implements Table<T> {
  constructor(
    readonly store: LevelStore,
    readonly name: string,
    readonly schema: Schema<T> | undefined,
  ) {}

  async get(id: string, options?: AbortOptions): Promise<T | undefined> {
    return (await this.store.read(this.name, id, options)) as T | undefined
  }

  async put(id: string, value: T, options?: AbortOptions): Promise<void> {
    await this.store.batch([this.putOp(id, value)], options)
  }

  async del(id: string, options?: AbortOptions): Promise<void> {
    await this.store.batch([this.delOp(id)], options)
  }

  async list(options?: AbortOptions): Promise<Entry<T>[]> {
    return (await this.store.readAll(this.name, options)) as Entry<T>[]
  }

  putOp(id: string, value: T): BatchOp {
    return { type: 'put', table: this.name, id, value }
  }

  delOp(id: string): BatchOp {
    return { type: 'del', table: this.name, id }
  }

  watch(listener: (changes: readonly Change<T>[]) => void): () => void {
    return this.store.watch((changes) => {
      const mine = changes.filter((c) => c.table === this.name) as Change<T>[]
      if (mine.length > 0) listener(mine)
    })
  }
}
