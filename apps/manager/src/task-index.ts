/**
 * The manager's tasks in memory, kept from the store's own change feed (write-through: the
 * store stays the truth and is read once at start). It answers what the hot paths ask —
 * a node's tasks, a service's tasks — in O(answer), and keeps, per node, a revision of its
 * assignments so the dispatcher sends a node only what changed since the revision it holds.
 *
 * A task's assignment revision moves only when what its node must act on changes (node,
 * desired state, addresses, slot, service): a status report from the node itself does not
 * send the task back to it. A task leaving a node leaves a tombstone on that node, kept for
 * {@link TOMBSTONES_PER_NODE} entries; a node asking from before the oldest kept tombstone
 * (or from another manager run, `epoch`) gets its whole list.
 */
import { randomUUID } from 'node:crypto'
import type { AbortOptions } from '@swarmnet/interface'
import type { Task } from '@swarmnet/orchestrator'
import type { Table } from '@swarmnet/store'
import { TableMirror } from './mirror.js'

export const TOMBSTONES_PER_NODE = 1_000

interface Entry {
  task: Task
  /** What the node acts on; the revision moves only when this changes. */
  key: string
  rev: number
}

interface NodeLog {
  /** Tasks that left this node, with the revision at which they left. */
  readonly gone: Map<string, number>
  /** Asking from before this revision needs the whole list (tombstones were dropped). */
  floor: number
}

/** What a node gets: its whole list, or the changes since the revision it named. */
export type NodeDelta =
  | { full: true; revision: string; tasks: Task[] }
  | { full: false; revision: string; changed: Task[]; removed: string[] }

export class TaskIndex {
  readonly #byId = new Map<string, Entry>()
  readonly #byNode = new Map<string, Set<string>>()
  readonly #bySvc = new Map<string, Set<string>>()
  readonly #logs = new Map<string, NodeLog>()
  readonly #mirror: TableMirror<Task>
  /** One per manager run: revisions of another run mean nothing here. */
  readonly #epoch = randomUUID().slice(0, 8)
  #rev = 0

  /** `onNodeChange` hears of every node whose assignments moved. */
  constructor(
    table: Table<Task>,
    private readonly onNodeChange?: (nodeId: string) => void,
  ) {
    this.#mirror = new TableMirror(table, (id, after) => (after ? this.#put(after) : this.#del(id)))
  }

  /** Reads the table once and follows its changes from then on. */
  load(options?: AbortOptions): Promise<void> {
    return this.#mirror.load(options)
  }

  close(): void {
    this.#mirror.close()
    this.#byId.clear()
    this.#byNode.clear()
    this.#bySvc.clear()
    this.#logs.clear()
  }

  all(): Task[] {
    return this.#mirror.values()
  }

  get(id: string): Task | undefined {
    return this.#mirror.get(id)
  }

  ofNode(nodeId: string): Task[] {
    return this.#pick(this.#byNode.get(nodeId))
  }

  ofService(serviceId: string): Task[] {
    return this.#pick(this.#bySvc.get(serviceId))
  }

  /** The node's assignments since `since` (`epoch:rev`, as returned last time), or all of them. */
  delta(nodeId: string, since: string | undefined): NodeDelta {
    const revision = `${this.#epoch}:${this.#rev}`
    const [epoch, revText] = (since ?? '').split(':')
    const from = Number(revText)
    const log = this.#logs.get(nodeId)
    if (epoch !== this.#epoch || !Number.isInteger(from) || from > this.#rev || from < (log?.floor ?? 0))
      return { full: true, revision, tasks: this.ofNode(nodeId) }
    const changed: Task[] = []
    for (const id of this.#byNode.get(nodeId) ?? []) {
      const e = this.#byId.get(id)
      if (e !== undefined && e.rev > from) changed.push(e.task)
    }
    const removed: string[] = []
    for (const [id, rev] of log?.gone ?? []) if (rev > from) removed.push(id)
    return { full: false, revision, changed, removed }
  }

  #pick(ids: ReadonlySet<string> | undefined): Task[] {
    const out: Task[] = []
    for (const id of ids ?? []) {
      const e = this.#byId.get(id)
      if (e !== undefined) out.push(e.task)
    }
    return out
  }

  #put(t: Task): void {
    const before = this.#byId.get(t.id)
    const key = assignmentKey(t)
    if (before !== undefined && before.key === key) {
      this.#byId.set(t.id, { ...before, task: t })
      return
    }
    const rev = ++this.#rev
    if (before !== undefined && before.task.nodeId !== t.nodeId) this.#leave(before.task, rev)
    this.#byId.set(t.id, { task: t, key, rev })
    if (t.nodeId) {
      add(this.#byNode, t.nodeId, t.id)
      this.#logs.get(t.nodeId)?.gone.delete(t.id)
      this.onNodeChange?.(t.nodeId)
    }
    add(this.#bySvc, t.serviceId, t.id)
  }

  #del(id: string): void {
    const before = this.#byId.get(id)
    if (before === undefined) return
    this.#byId.delete(id)
    this.#leave(before.task, ++this.#rev)
    remove(this.#bySvc, before.task.serviceId, id)
  }

  /** The task is no longer its node's: a tombstone there, dropping the oldest past the cap. */
  #leave(t: Task, rev: number): void {
    if (!t.nodeId) return
    remove(this.#byNode, t.nodeId, t.id)
    let log = this.#logs.get(t.nodeId)
    if (log === undefined) {
      log = { gone: new Map(), floor: 0 }
      this.#logs.set(t.nodeId, log)
    }
    log.gone.set(t.id, rev)
    this.onNodeChange?.(t.nodeId)
    while (log.gone.size > TOMBSTONES_PER_NODE) {
      const [oldest, at] = log.gone.entries().next().value as [string, number]
      log.gone.delete(oldest)
      log.floor = at
    }
  }
}

function assignmentKey(t: Task): string {
  return JSON.stringify([t.nodeId, t.desiredState, t.serviceId, t.slot, t.attachments ?? []])
}

function add(m: Map<string, Set<string>>, key: string, id: string): void {
  let s = m.get(key)
  if (s === undefined) {
    s = new Set()
    m.set(key, s)
  }
  s.add(id)
}

function remove(m: Map<string, Set<string>>, key: string, id: string): void {
  const s = m.get(key)
  if (s === undefined) return
  s.delete(id)
  if (s.size === 0) m.delete(key)
}
