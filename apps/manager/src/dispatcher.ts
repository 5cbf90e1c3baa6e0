/**
 * The dispatcher: each node's sync. A node sends the reports that changed since its last
 * sync, its held set when it changed, and the revision of the assignments it holds; it gets
 * back only the assignments that changed since (the whole list when the revision is not
 * ours: first contact or a manager restart, after which the node sends everything again).
 * An idle node's sync touches no store record and takes no lock: O(its changes).
 * The IPsec keyring rides the same answers: a node says which keyring version it holds and gets
 * the keyring only when that is not the current one; a rotation answers every pending watch.
 * This session (mTLS) is the only way keys leave the manager.
 *
 * Reports are applied forward-only in one store batch. An address can only become free when
 * a task leaves the node's held set or ends, so the endpoints are looked at then, inside the
 * write queue, where an allocation for a task being assigned is never mistaken for a stale one.
 */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import type { Orchestrator, Service } from '@swarmnet/orchestrator'
import { isTerminal, type Task } from '@swarmnet/orchestrator'
import type { BatchOp, Store, Table } from '@swarmnet/store'
import type { Assignment, Keyring, TaskReport } from '@swarmnet/wire'
import { assignmentOf, logTransitions } from './dispatch.js'
import type { NodeIngress } from './ingress.js'
import type { NetworkService } from './networks.js'
import type { TaskIndex } from './task-index.js'

/** How long `service logs` waits for the nodes' next sync to bring the lines. */
export const LOGS_WAIT_MS = 5_000

/** Where the keyring comes from (keys.ts). */
export interface KeySource {
  /** The current version, once loaded. */
  readonly version: string | undefined
  keyring(options?: AbortOptions): Promise<Keyring>
  /** Calls `listener` after every rotation; returns the unsubscribe. */
  onChange(listener: () => void): () => void
}

export interface DispatcherComponents {
  store: Store
  clock: Clock
  logger: Logger
  networks: NetworkService
  orchestrator: Orchestrator
  tasks: Table<Task>
  services: Table<Service>
  index: TaskIndex
  /** The controller's write queue (all task writes go through it). */
  serial<T>(fn: () => Promise<T>): Promise<T>
  /** Something changed that the orchestrator should see. */
  wake(): void
  /** The IPsec keyring. @default none */
  keys?: KeySource
  /** The ingress network and the node's LB address on it (since 0.6). @default none */
  ingress?(nodeId: string, options?: AbortOptions): Promise<NodeIngress | undefined>
}

export interface SyncRequest {
  reports: readonly TaskReport[]
  /** Absent: unchanged since the last sync. */
  held?: readonly string[] | undefined
  /** The assignments revision the node holds. */
  since?: string | undefined
  /** The keyring version the node holds. */
  keys?: string | undefined
}

export interface SyncResponse {
  revision: string
  full: boolean
  assignments: Assignment[]
  removed: string[]
  wantLogs: string[]
  keys?: Keyring
  wantLogsFrom: Record<string, number>
  ingress?: NodeIngress
}

/** A task's output as its node sent it: `end` is where it stops (absent: the node did not answer). */
export interface LogChunk {
  text: string
  end?: number
  /** [position, ms]: when the output had reached each position. */
  times?: Array<[number, number]>
}

export class Dispatcher {
  /** What each node reported holding (the manager's restart starts afresh). */
  private readonly heldBy = new Map<string, ReadonlySet<string>>()
  /** `service logs` waiting for a node's next sync: task id → resolvers. */
  private readonly logWaiters = new Map<string, Array<(chunk: LogChunk) => void>>()
  /** Of those, the tasks wanted from a position (a follower's), rather than their last lines. */
  private readonly logFrom = new Map<string, number>()
  /** Nodes' pending watches: node id → wake-ups. */
  private readonly watchers = new Map<string, Set<() => void>>()

  constructor(private readonly c: DispatcherComponents) {
    // a rotation: every node's watch answers, and its next sync brings the keyring
    c.keys?.onChange(() => {
      for (const nodeId of [...this.watchers.keys()]) this.nodeChanged(nodeId)
    })
  }

  /** Bumped when a node's status changes: every watch answers, and each node heartbeats at once. */
  private membershipEpoch = 0

  /** A node went down or came back: every node learns it now, not at its next heartbeat. */
  membershipChanged(): void {
    this.membershipEpoch++
    const all = [...this.watchers.values()]
    this.watchers.clear()
    for (const set of all) for (const wake of set) wake()
  }

  /** The node's assignments moved: its watch answers now. */
  nodeChanged(nodeId: string): void {
    const w = this.watchers.get(nodeId)
    if (w === undefined) return
    this.watchers.delete(nodeId)
    for (const wake of w) wake()
  }

  /**
   * Answers when the node has something to sync (assignments changed since `since`, or logs
   * wanted), or after `waitMs` with nothing: the push half of the session, so a node learns of
   * its assignments at once instead of at its next sync.
   */
  async watch(
    nodeId: string,
    since: string,
    waitMs: number,
    options?: AbortOptions,
    keys?: string,
  ): Promise<{ changed: boolean; membership: boolean }> {
    await this.c.index.load(options)
    const epoch = this.membershipEpoch
    if (this.pending(nodeId, since, keys)) return { changed: true, membership: false }
    const stop = new AbortController()
    const woken = new Promise<void>((resolve) => {
      let set = this.watchers.get(nodeId)
      if (set === undefined) {
        set = new Set()
        this.watchers.set(nodeId, set)
      }
      const wake = (): void => {
        set.delete(wake)
        resolve()
      }
      set.add(wake)
      stop.signal.addEventListener('abort', wake)
    })
    const signal = options?.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
    await Promise.race([woken, this.c.clock.sleep(waitMs, { signal }).catch(() => undefined)])
    stop.abort()
    return { changed: this.pending(nodeId, since, keys), membership: this.membershipEpoch !== epoch }
  }

  private pending(nodeId: string, since: string, keys?: string): boolean {
    if (keys !== undefined && this.c.keys?.version !== undefined && keys !== this.c.keys.version) return true
    const d = this.c.index.delta(nodeId, since)
    if (d.full || d.changed.length > 0 || d.removed.length > 0) return true
    return this.logWaiters.size > 0 && this.c.index.ofNode(nodeId).some((t) => this.logWaiters.has(t.id))
  }

  async sync(nodeId: string, req: SyncRequest, options?: AbortOptions): Promise<SyncResponse> {
    await this.c.index.load(options)
    for (const r of req.reports) {
      if (r.logTail === undefined) continue
      const chunk = {
        text: r.logTail,
        ...(r.logEnd !== undefined ? { end: r.logEnd } : {}),
        ...(r.logTimes !== undefined ? { times: r.logTimes } : {}),
      }
      for (const w of this.logWaiters.get(r.id) ?? []) w(chunk)
      this.logWaiters.delete(r.id)
      this.logFrom.delete(r.id)
    }
    // without a held set on record (manager restart) the node must send everything again
    const knowsHeld = req.held !== undefined || this.heldBy.has(nodeId)
    if (req.reports.length > 0 || req.held !== undefined) {
      const changed = await this.c.serial(() => this.apply(nodeId, req, options))
      if (changed) this.c.wake()
    }
    const d = this.c.index.delta(nodeId, knowsHeld ? req.since : undefined)
    const tasks = d.full ? d.tasks : d.changed
    const assignments = tasks.length > 0 ? await this.assignments(tasks, nodeId, options) : []
    const wantLogs: string[] = []
    const wantLogsFrom: Record<string, number> = {}
    if (this.logWaiters.size > 0)
      for (const t of this.c.index.ofNode(nodeId)) {
        if (!this.logWaiters.has(t.id)) continue
        wantLogs.push(t.id)
        const from = this.logFrom.get(t.id)
        if (from !== undefined) wantLogsFrom[t.id] = from
      }
    const keys =
      this.c.keys !== undefined && req.keys !== this.c.keys.version
        ? await this.c.keys.keyring(options)
        : undefined
    // every node, whether or not it runs a task: its ingress namespace serves every published port
    const ingress = await this.c.ingress?.(nodeId, options)
    return {
      revision: d.revision,
      full: d.full,
      assignments,
      removed: d.full ? [] : d.removed,
      wantLogs,
      ...(keys !== undefined ? { keys } : {}),
      wantLogsFrom,
      ...(ingress !== undefined ? { ingress } : {}),
    }
  }

  /**
   * Resolves with each task's output as its node's next sync brings it: its last lines, or
   * what came after `from` when given (empty, without `end`, after 5 s).
   */
  waitLogs(
    wanted: ReadonlyArray<{ id: string; from?: number | undefined }>,
    options?: AbortOptions,
  ): Promise<LogChunk[]> {
    return Promise.all(
      wanted.map(
        ({ id, from }) =>
          new Promise<LogChunk>((resolve) => {
            const list = this.logWaiters.get(id) ?? []
            list.push(resolve)
            this.logWaiters.set(id, list)
            if (from !== undefined) this.logFrom.set(id, Math.min(from, this.logFrom.get(id) ?? from))
            const nodeId = this.c.index.get(id)?.nodeId
            if (nodeId) this.nodeChanged(nodeId)
            void this.c.clock.sleep(LOGS_WAIT_MS, options).then(
              () => {
                this.logWaiters.delete(id)
                this.logFrom.delete(id)
                resolve({ text: '' })
              },
              () => resolve({ text: '' }),
            )
          }),
      ),
    )
  }

  /** Applies reports and the held set; true when a task changed. */
  private async apply(nodeId: string, req: SyncRequest, options?: AbortOptions): Promise<boolean> {
    const now = this.c.clock.now()
    const ops: BatchOp[] = []
    let ended = false
    for (const r of req.reports) {
      const t = this.c.index.get(r.id)
      if (t === undefined || t.nodeId !== nodeId) continue
      const next = this.c.orchestrator.applyStatusReport(
        t,
        {
          state: r.state,
          ...(r.error ? { error: r.error } : {}),
          ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
          ...(r.health !== undefined ? { health: r.health } : {}),
        },
        now,
      )
      if (next === t) continue
      logTransitions(this.c.logger, t, next)
      ops.push(this.c.tasks.putOp(t.id, next))
      if (isTerminal(next.state)) ended = true
    }
    if (ops.length > 0) await this.c.store.batch(ops, options)
    const before = this.heldBy.get(nodeId)
    const heldNow = req.held !== undefined ? new Set(req.held) : before
    if (heldNow === undefined) return ops.length > 0
    this.heldBy.set(nodeId, heldNow)
    if (before === undefined || ended || [...before].some((id) => !heldNow.has(id))) {
      const live = new Set(
        this.c.index
          .ofNode(nodeId)
          .filter((t) => !isTerminal(t.state))
          .map((t) => t.id),
      )
      await this.c.networks.releaseUnheld(nodeId, heldNow, live, options)
    }
    return ops.length > 0
  }

  private async assignments(tasks: readonly Task[], nodeId: string, options?: AbortOptions) {
    const networks = new Map((await this.c.networks.allNetworks(options)).map((n) => [n.id, n]))
    const services = new Map<string, Service | undefined>()
    for (const t of tasks)
      if (!services.has(t.serviceId))
        services.set(t.serviceId, await this.c.services.get(t.serviceId, options))
    return tasks.map((t) => assignmentOf(t, services.get(t.serviceId), networks, nodeId))
  }
}
