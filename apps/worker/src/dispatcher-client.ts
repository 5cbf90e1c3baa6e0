/**
 * The node's end of the dispatcher session, speaking deltas: of the reports the task agent
 * builds each sync it sends only those that changed since the manager last took them, the
 * held set only when it changed, and the revision of the assignments it holds; it applies the
 * changes that come back to its copy and hands the task agent the whole list, as before.
 * When the manager answers with the whole list (first contact, manager restart), it did not
 * know this node's state: everything is sent again on the next sync. A failed call changes
 * nothing here, so what it carried is sent again.
 */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import type { Assignment, TaskReport } from '@swarmnet/wire'
import type { Dispatcher, SyncResult } from './tasks.js'

export interface SyncCall {
  reports: TaskReport[]
  held?: string[]
  since?: string
}

export interface SyncAnswer {
  revision?: string | undefined
  full: boolean
  assignments: Assignment[]
  removed: string[]
  wantLogs: string[]
  wantLogsFrom?: Record<string, number> | undefined
}

export class DeltaDispatcher implements Dispatcher {
  /** The assignments as of {@link revision}. */
  private readonly assigned = new Map<string, Assignment>()
  private revision: string | undefined
  /** Each task's last report the manager took. */
  private readonly sent = new Map<string, string>()
  private heldSent: string | undefined
  /** Waiting for the next sync that answers. */
  private synced: Array<() => void> = []

  constructor(private readonly call: (req: SyncCall, options: AbortOptions) => Promise<SyncAnswer>) {}

  async sync(req: { reports: TaskReport[]; held: string[] }, options: AbortOptions): Promise<SyncResult> {
    const reports = req.reports.filter((r) => r.logTail !== undefined || this.sent.get(r.id) !== keyOf(r))
    const heldKey = [...req.held].sort().join()
    const res = await this.call(
      {
        reports,
        ...(heldKey !== this.heldSent ? { held: req.held } : {}),
        ...(this.revision !== undefined ? { since: this.revision } : {}),
      },
      options,
    )
    if (res.full) {
      this.assigned.clear()
      for (const a of res.assignments) this.assigned.set(a.id, a)
      // the manager did not know what this node holds: tell it all next time
      this.sent.clear()
      this.heldSent = this.revision === undefined ? heldKey : undefined
      if (this.revision === undefined) this.remember(req.reports)
    } else {
      for (const a of res.assignments) this.assigned.set(a.id, a)
      for (const id of res.removed) this.assigned.delete(id)
      this.heldSent = heldKey
      this.remember(req.reports)
    }
    this.revision = res.revision
    const waiting = this.synced
    this.synced = []
    for (const w of waiting) w()
    return {
      assignments: [...this.assigned.values()],
      wantLogs: res.wantLogs,
      ...(res.wantLogsFrom !== undefined ? { wantLogsFrom: res.wantLogsFrom } : {}),
    }
  }

  /** The revision of the assignments held (undefined before the first answer). */
  get held(): string | undefined {
    return this.revision
  }

  /** Resolves after the next sync the manager answers (or when `signal` aborts). */
  nextSync(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve()
      this.synced.push(resolve)
      signal.addEventListener('abort', () => resolve(), { once: true })
    })
  }

  /** The reports of this sync are now the manager's; tasks no longer reported are forgotten. */
  private remember(reports: readonly TaskReport[]): void {
    const now = new Set(reports.map((r) => r.id))
    for (const id of this.sent.keys()) if (!now.has(id)) this.sent.delete(id)
    for (const r of reports) this.sent.set(r.id, keyOf(r))
  }
}

function keyOf(r: TaskReport): string {
  return JSON.stringify([r.state, r.error, r.exitCode, r.health])
}

/** What {@link watchAssignments} needs. */
export interface WatchDeps {
  logger: Logger
  clock: Clock
  dispatcher: DeltaDispatcher
  retryMs: number
  /** One watch call: answers when the node's assignments (or the membership) changed. */
  watch(since: string, options: AbortOptions): Promise<{ changed: boolean; membership: boolean }>
  onMembership(): void
  /** Assignments changed: the task agent syncs now. */
  onChanged(): void
}

/**
 * The push half of the dispatcher session: a call the manager answers when this node's
 * assignments change (or after its wait); the task agent then syncs at once. Without it a node
 * learns of a new task at its next periodic sync. Runs until `signal` aborts.
 */
export async function watchAssignments(d: WatchDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const since = d.dispatcher.held
    try {
      if (since === undefined) {
        await d.dispatcher.nextSync(signal)
        continue
      }
      const res = await d.watch(since, { signal })
      if (res.membership) d.onMembership()
      if (!res.changed) continue
      const synced = d.dispatcher.nextSync(signal)
      d.onChanged()
      await synced
    } catch (err) {
      if (signal.aborted) return
      // an older manager (no watch) or none reachable: the periodic sync carries on alone
      d.logger.debug('dispatcher watch failed', { err })
      await d.clock.sleep(5 * d.retryMs, { signal }).catch(() => undefined)
    }
  }
}
