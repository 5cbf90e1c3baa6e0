/**
 * @packageDocumentation
 * Local state on level: named tables of JSON records (one sublevel each), atomic batches
 * across tables, and change notifications after each committed write. The manager keeps
 * its objects here (cluster, nodes, networks, services, tasks, allocator state); workers
 * keep their identity and local endpoints. Data survives restarts.
 *
 * @example
 * ```ts
 * const store = createStore({ logger }, { path: '/var/lib/swarmnet/state' })
 * await store.open()
 * const networks = store.table<Network>('networks', networkSchema) // any `{ parse }`, e.g. zod
 * const state = store.table<AllocatorSnapshot>('allocator')
 * store.watch((changes) => log.debug('committed', { n: changes.length }))
 * await store.batch([networks.putOp(net.id, net), state.putOp('default', allocator.snapshot())])
 * await networks.get(net.id) // → net
 * await store.close()
 * ```
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import { LevelStore } from './store.js'

export interface StoreComponents {
  logger: Logger
}

export interface StoreInit {
  /** Directory of the level database; created if missing. */
  path: string
}

/** Validates a record on write and on read; zod schemas fit. Throwing rejects the record. */
export interface Schema<T> {
  parse(value: unknown): T
}

export interface Entry<T> {
  id: string
  value: T
}

/** One write in a {@link Store.batch}; build them with {@link Table.putOp} and {@link Table.delOp}. */
export type BatchOp =
  | { readonly type: 'put'; readonly table: string; readonly id: string; readonly value: unknown }
  | { readonly type: 'del'; readonly table: string; readonly id: string }

/** A committed write, as stored (after the schema, through JSON). */
export type Change<T = unknown> =
  | { readonly type: 'put'; readonly table: string; readonly id: string; readonly value: T }
  | { readonly type: 'del'; readonly table: string; readonly id: string }

export interface Table<T> {
  readonly name: string
  /** `undefined` when there is no record `id`. */
  get(id: string, options?: AbortOptions): Promise<T | undefined>
  put(id: string, value: T, options?: AbortOptions): Promise<void>
  /** Deleting a missing record is not an error. */
  del(id: string, options?: AbortOptions): Promise<void>
  /** Every record, in id order (code-unit order). */
  list(options?: AbortOptions): Promise<Entry<T>[]>
  putOp(id: string, value: T): BatchOp
  delOp(id: string): BatchOp
  /** Like {@link Store.watch}, only this table's changes; batches without any are skipped. */
  watch(listener: (changes: readonly Change<T>[]) => void): () => void
}

export interface Store {
  readonly isOpen: boolean
  /** Opens (creating the directory if needed); a no-op when already open. */
  open(options?: AbortOptions): Promise<void>
  /** A no-op when already closed. Tables stay usable after a later `open()`. */
  close(options?: AbortOptions): Promise<void>
  /**
   * The table `name` (1-63 of `a-z 0-9 - _`, starting with a letter). Asking again returns the
   * same table; asking with a different schema throws. Usable before `open()`; I/O is not.
   */
  table<T>(name: string, schema?: Schema<T>): Table<T>
  /** Applies every op or none (values are validated before anything is written). */
  batch(ops: readonly BatchOp[], options?: AbortOptions): Promise<void>
  /**
   * Calls `listener` synchronously with the changes of each committed write, in commit order,
   * before the write's promise resolves. A throwing listener is logged and does not fail the
   * write. Returns the function that unsubscribes.
   */
  watch(listener: (changes: readonly Change[]) => void): () => void
}

export function createStore(components: StoreComponents, init: StoreInit): Store {
  return new LevelStore(components, init)
}

export {
  CorruptRecordError,
  InvalidIdError,
  InvalidRecordError,
  InvalidTableNameError,
  StoreNotOpenError,
  TableSchemaConflictError,
} from './errors.js'
