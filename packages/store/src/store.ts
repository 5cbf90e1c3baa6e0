import { mkdir } from 'node:fs/promises'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import { Level } from 'level'
import {
  CorruptRecordError,
  InvalidRecordError,
  StoreNotOpenError,
  TableSchemaConflictError,
} from './errors.js'
import type { BatchOp, Change, Entry, Schema, Store, StoreComponents, StoreInit, Table } from './index.js'
import { checkId, checkTableName } from './names.js'
import { LevelTable } from './table.js'

type Db = Level<string, string>
type Sublevel = ReturnType<typeof openSublevel>

const UTF8 = { keyEncoding: 'utf8', valueEncoding: 'utf8' } as const

function openSublevel(db: Db, table: string) {
  return db.sublevel<string, string>(table, UTF8)
}

export class LevelStore implements Store {
  readonly #log: Logger
  readonly #path: string
  readonly #tables = new Map<string, LevelTable<unknown>>()
  readonly #listeners = new Set<(changes: readonly Change[]) => void>()
  #db: Db | undefined
  #sublevels = new Map<string, Sublevel>()

  constructor(components: StoreComponents, init: StoreInit) {
    this.#log = components.logger
    this.#path = init.path
  }

  get isOpen(): boolean {
    return this.#db !== undefined
  }

  async open(options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.#db !== undefined) return
    await mkdir(this.#path, { recursive: true })
    const db = new Level<string, string>(this.#path, UTF8)
    await db.open()
    this.#db = db
    this.#log.debug('opened store', { path: this.#path })
  }

  async close(options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const db = this.#db
    if (db === undefined) return
    this.#db = undefined
    this.#sublevels = new Map()
    await db.close()
    this.#log.debug('closed store', { path: this.#path })
  }

  table<T>(name: string, schema?: Schema<T>): Table<T> {
    checkTableName(name)
    const existing = this.#tables.get(name)
    if (existing !== undefined) {
      if (schema !== undefined && existing.schema !== schema) {
        throw new TableSchemaConflictError(`table '${name}' is already defined with another schema`)
      }
      return existing as Table<T>
    }
    const table = new LevelTable<T>(this, name, schema)
    this.#tables.set(name, table as LevelTable<unknown>)
    return table
  }

  async batch(ops: readonly BatchOp[], options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const db = this.#open()
    const changes: Change[] = []
    const writes = ops.map((op) => {
      const table = checkTableName(op.table)
      const id = checkId(table, op.id)
      const sublevel = this.#sublevel(db, table)
      if (op.type === 'del') {
        changes.push({ type: 'del', table, id })
        return { type: 'del' as const, sublevel, key: id }
      }
      const value = this.#encode(table, id, op.value)
      changes.push({ type: 'put', table, id, value: JSON.parse(value) })
      return { type: 'put' as const, sublevel, key: id, value }
    })
    if (writes.length === 0) return
    await db.batch(writes)
    this.#notify(changes)
  }

  watch(listener: (changes: readonly Change[]) => void): () => void {
    const wrapped = (changes: readonly Change[]): void => listener(changes)
    this.#listeners.add(wrapped)
    return () => {
      this.#listeners.delete(wrapped)
    }
  }

  /** Used by tables: one record, decoded and checked. */
  async read(table: string, id: string, options?: AbortOptions): Promise<unknown> {
    options?.signal?.throwIfAborted()
    const db = this.#open()
    const raw = await this.#sublevel(db, checkTableName(table)).get(checkId(table, id))
    return raw === undefined ? undefined : this.#decode(table, id, raw)
  }

  /** Used by tables: every record of a table, in id order. */
  async readAll(table: string, options?: AbortOptions): Promise<Entry<unknown>[]> {
    options?.signal?.throwIfAborted()
    const db = this.#open()
    const out: Entry<unknown>[] = []
    for await (const [id, raw] of this.#sublevel(db, checkTableName(table)).iterator()) {
      options?.signal?.throwIfAborted()
      out.push({ id, value: this.#decode(table, id, raw) })
    }
    return out
  }

  #open(): Db {
    if (this.#db === undefined)
      throw new StoreNotOpenError(`store at ${this.#path} is not open; call open() first`)
    return this.#db
  }

  #sublevel(db: Db, table: string): Sublevel {
    const cached = this.#sublevels.get(table)
    if (cached !== undefined) return cached
    const sublevel = openSublevel(db, table)
    this.#sublevels.set(table, sublevel)
    return sublevel
  }

  #encode(table: string, id: string, value: unknown): string {
    const schema = this.#tables.get(table)?.schema
    let checked = value
    if (schema !== undefined) {
      try {
        checked = schema.parse(value)
      } catch (err) {
        throw new InvalidRecordError(
          `value for ${table}/${id} does not match the table's schema: ${reason(err)}`,
          {
            cause: err,
          },
        )
      }
    }
    let json: string | undefined
    try {
      json = JSON.stringify(checked)
    } catch (err) {
      throw new InvalidRecordError(`value for ${table}/${id} is not JSON-serialisable: ${reason(err)}`, {
        cause: err,
      })
    }
    if (json === undefined) throw new InvalidRecordError(`value for ${table}/${id} is not JSON-serialisable`)
    return json
  }

  #decode(table: string, id: string, raw: string): unknown {
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (err) {
      throw new CorruptRecordError(`record ${table}/${id} in ${this.#path} is not valid JSON`, { cause: err })
    }
    const schema = this.#tables.get(table)?.schema
    if (schema === undefined) return value
    try {
      return schema.parse(value)
    } catch (err) {
      throw new CorruptRecordError(
        `record ${table}/${id} does not match the table's schema: ${reason(err)}`,
        {
          cause: err,
        },
      )
    }
  }

  #notify(changes: readonly Change[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(changes)
      } catch (err) {
        this.#log.error('store watch listener failed', { err })
      }
    }
  }
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0] ?? text
}
