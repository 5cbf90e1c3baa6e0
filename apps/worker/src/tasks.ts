/**
 * The node's side of the dispatcher. Every {@link SYNC_PERIOD_MS} it reports its tasks and
 * receives the tasks assigned to it, then converges:
 *
 * - desired running, not here yet → sandbox with the addresses that came with the
 *   assignment → process started in it;
 * - desired shutdown/remove → process stopped (state kept for `service ps` and logs), or,
 *   if it never started here, reported `shutdown` at once;
 * - not running any more → its sandbox goes (entries withdrawn, kernel objects removed);
 * - here but no longer assigned at all → process, state, logs and sandbox removed.
 *
 * One record per task ({@link LocalTask}) says where it is in that life (preparing →
 * starting → started, or rejected). Decisions are taken after the dispatcher answers, from
 * the records and a fresh runtime listing — never from a snapshot taken before the round
 * trip — so a task is started once: a record exists from the moment its launch is decided
 * until the task is no longer assigned. The starts of one sync are one burst: their
 * sandboxes are built in one reconcile, their processes started side by side.
 *
 * Tasks run detached from the agent: a restarted agent adopts them from the runtime's state
 * directory, so nothing leaks and nothing restarts needlessly. While the manager cannot be
 * reached nothing changes here: tasks keep running and their entries stay gossiped.
 */
import type { AbortOptions, Clock, Logger, Periodic } from '@swarmnet/interface'
import { startPeriodic } from '@swarmnet/interface'
import { type Runtime, TaskExistsError, type TaskInfo, type TaskStatus } from '@swarmnet/runtime'
import type { Assignment, TaskReport } from '@swarmnet/wire'
import { type HealthMonitor, monitorTasks, withHealth } from './health.js'
import type { NetworkController } from './networks.js'
import { aliasesOf, countTransitions, hostnameOf, reportOf } from './task-names.js'

export const SYNC_PERIOD_MS = 1_000
const LOG_TAIL_LINES = 200
/** At most this much output per task in one report (the report's limit is 64 KiB). */
const LOG_REPORT_BYTES = 60_000
/** A task's output file is rotated past this size (one older file is kept: ≤ 2× per attempt). */
export const LOG_MAX_BYTES = 10 * 1024 * 1024
/** Sizes of the output files are looked at every this many syncs. */
const ROTATE_EVERY = 10

export interface TaskAgentComponents {
  logger: Logger
  clock: Clock
  runtime: Runtime
  networks: Pick<NetworkController, 'prepare' | 'release' | 'disable' | 'enable' | 'taskIds' | 'namespaceOf'>
  /** The dispatcher session with the manager: reports and held tasks out, assignments in. */
  dispatcher: Dispatcher
  hostname: string
  /** Every task's /etc/resolv.conf (the node's resolver); absent: the host's. */
  resolvConf?: string
  /** Dispatcher sync period. @default {@link SYNC_PERIOD_MS} */
  periodMs?: number
}

/** What a sync brings: the assignments, and the tasks whose output the manager wants. */
export interface SyncResult {
  assignments: Assignment[]
  wantLogs: string[]
  /** Of those, the ones wanted from a position (a follower's) rather than their last lines. */
  wantLogsFrom?: Record<string, number>
}

export interface Dispatcher {
  sync(req: { reports: TaskReport[]; held: string[] }, options: AbortOptions): Promise<SyncResult>
}

/** Where one task is in its life on this node (what the runtime cannot tell by itself). */
type LocalTask =
  | { phase: 'preparing' | 'starting' }
  /** The process was started (or adopted); the runtime tells whether it still runs. */
  | { phase: 'started' }
  | { phase: 'rejected'; error: string }
  /** Assigned, then stopped before this node started it. */
  | { phase: 'never' }

/** Task transitions on this node since the agent started. */
export interface TaskCounters {
  started: number
  rejected: number
  failed: number
  /**
   * Changes of a task's state as this node reports it to the manager, by the state entered
   * (a state that lasts less than a sync period may be skipped). For metrics.
   */
  transitions?: Partial<Record<TaskReport['state'], number>>
}

export class TaskAgent {
  private readonly c: TaskAgentComponents
  private readonly loop = new AbortController()
  private periodic: Periodic | undefined
  private readonly tasks = new Map<string, LocalTask>()
  /** Launch bursts in flight (awaited on stop). */
  private readonly bursts = new Set<Promise<void>>()
  private wantLogs = new Set<string>()
  private wantLogsFrom: Record<string, number> = {}
  private syncs = 0
  /** Desired state of each task at the last sync: a task stopped on purpose reports `shutdown`. */
  private desired = new Map<string, Assignment['desiredState']>()
  /** Tasks already counted as failed. */
  private readonly failedSeen = new Set<string>()
  readonly counters: TaskCounters = { started: 0, rejected: 0, failed: 0, transitions: {} }
  /** The state last reported of each task: a different one is a transition. */
  private readonly reported = new Map<string, TaskReport['state']>()

  /** Health checks of the tasks that have one. */
  private readonly health: HealthMonitor

  constructor(components: TaskAgentComponents) {
    this.c = components
    this.health = monitorTasks(components, () => this.wake(), this.loop.signal)
  }

  start(): void {
    // when each task's output was written, for `service logs -t/--since`
    void this.c.runtime
      .stampOutput({ signal: this.loop.signal })
      .catch((err: unknown) => this.c.logger.warn('task output times not recorded', { err }))
    this.periodic = startPeriodic({
      clock: this.c.clock,
      periodMs: this.c.periodMs ?? SYNC_PERIOD_MS,
      signal: this.loop.signal,
      tick: (signal) => this.syncOnce(signal),
      onError: (err) => this.c.logger.debug('task sync failed', { err }),
    })
  }

  /** Syncs now (the manager has something, or a burst of starts finished). */
  wake(): void {
    this.periodic?.wake()
  }

  async stop(): Promise<void> {
    this.loop.abort()
    await this.periodic?.done
    await Promise.allSettled([...this.bursts])
  }

  /** Stops and removes every task of this node (the node leaves the cluster). */
  async removeAll(options?: AbortOptions): Promise<void> {
    const ids = (await this.c.runtime.list(options)).map((t) => t.id)
    for (const id of ids) await this.removeProcess(id, options)
    await this.c.networks.release([...ids, ...(await this.c.networks.taskIds(options))], options)
    this.tasks.clear()
  }

  private async syncOnce(signal: AbortSignal): Promise<void> {
    const local = await this.c.runtime.list({ signal })
    const reports = await this.reports(local, signal)
    countTransitions(this.counters, this.reported, reports)
    const held = new Set([...local.map((t) => t.id), ...(await this.c.networks.taskIds({ signal }))])
    for (const [id, t] of this.tasks) if (inFlight(t)) held.add(id)
    const res = await this.c.dispatcher.sync({ reports, held: [...held] }, { signal })
    await this.converge(res.assignments, signal)
    const fresh = res.wantLogs.some((id) => !this.wantLogs.has(id))
    this.wantLogs = new Set(res.wantLogs)
    this.wantLogsFrom = res.wantLogsFrom ?? {}
    // output newly wanted (`service logs`, a follower): send it at once, not next period
    if (fresh) this.wake()
    // output files past LOG_MAX_BYTES are rotated (running tasks are the ones that grow)
    if (++this.syncs % ROTATE_EVERY === 0)
      for (const t of local.filter((x) => x.state === 'running'))
        await this.c.runtime
          .rotateLog(t.id, LOG_MAX_BYTES, { signal })
          .catch((err: unknown) => this.c.logger.warn('log rotation failed', { task: t.id, err }))
  }

  /**
   * Reports from the records, and from the runtime for tasks that were started. A launch may
   * finish while the runtime is being listed: a started task that the listing misses, or shows
   * still spawning, is asked about again rather than reported lost.
   */
  private async reports(local: readonly TaskInfo[], signal: AbortSignal): Promise<TaskReport[]> {
    const reports: TaskReport[] = []
    const statuses = new Map<string, TaskStatus>(local.map((t) => [t.id, t]))
    for (const [id, t] of this.tasks) {
      if (inFlight(t)) reports.push({ id, state: t.phase })
      else if (t.phase === 'rejected')
        reports.push({
          id,
          state: 'rejected',
          error: t.error,
          ...(this.wantLogs.has(id) ? { logTail: '' } : {}),
        })
      else if (t.phase === 'never')
        reports.push({ id, state: 'shutdown', ...(this.wantLogs.has(id) ? { logTail: '' } : {}) })
      else if ((statuses.get(id)?.state ?? 'unknown') === 'unknown')
        statuses.set(id, await this.c.runtime.status(id, { signal }))
    }
    for (const [id, status] of statuses) {
      const t = this.tasks.get(id)
      if (t !== undefined && t.phase !== 'started') continue
      const r = withHealth(reportOf(id, status, this.desired.get(id) ?? 'running'), this.health.state(id))
      if (r.state === 'failed' && !this.failedSeen.has(id)) {
        this.failedSeen.add(id)
        this.counters.failed++
      }
      if (this.wantLogs.has(id)) {
        const from = this.wantLogsFrom[id]
        const out = await this.c.runtime.readLog(id, {
          ...(from !== undefined ? { from } : { tail: LOG_TAIL_LINES }),
          maxBytes: LOG_REPORT_BYTES,
          signal,
        })
        r.logTail = out.text.slice(-LOG_REPORT_BYTES)
        r.logEnd = out.end
        r.logTimes = out.stamps.map(([e, ms]) => [e, ms] as [number, number])
      }
      reports.push(r)
    }
    return reports
  }

  /** Brings this node to the assignments; reads the runtime afresh, after the round trip. */
  private async converge(assignments: readonly Assignment[], signal: AbortSignal): Promise<void> {
    this.desired = new Map(assignments.map((a) => [a.id, a.desiredState]))
    const here = new Map((await this.c.runtime.list({ signal })).map((t) => [t.id, t]))
    const launches: Assignment[] = []
    const stops: string[] = []
    const adopted: string[] = []
    for (const a of assignments) {
      const t = this.tasks.get(a.id)
      const info = here.get(a.id)
      if (a.desiredState === 'running') {
        if (t !== undefined) continue
        if (info !== undefined) {
          this.tasks.set(a.id, { phase: 'started' }) // adopted after a restart
          if (info.state === 'running' && a.health) this.health.watch(a.id, a.health)
          else if (info.state === 'running') adopted.push(a.id)
        } else {
          this.tasks.set(a.id, { phase: 'preparing' })
          launches.push(a)
        }
      } else if (info?.state === 'running' && (t === undefined || !inFlight(t))) {
        stops.push(a.id)
      } else if (info === undefined && t === undefined) {
        this.tasks.set(a.id, { phase: 'never' })
      }
    }
    if (launches.length > 0) this.track(this.launch(launches, signal))
    // an agent that died between a start and its enable left the entry disabled
    if (adopted.length > 0)
      await this.c.networks
        .enable(adopted, { signal })
        .catch((err: unknown) => this.c.logger.warn('enabling endpoints failed', { tasks: adopted, err }))
    // graceful: out of every load balancer and DNS first, then the signal
    for (const id of stops) this.health.forget(id)
    if (stops.length > 0)
      await this.c.networks
        .disable(stops, { signal })
        .catch((err: unknown) => this.c.logger.warn('disabling endpoints failed', { tasks: stops, err }))
    await Promise.all(
      stops.map((id) =>
        this.c.runtime
          .stop(id, { signal })
          .catch((err: unknown) => this.c.logger.warn('stop failed', { task: id, err })),
      ),
    )
    await this.collect(assignments, signal)
  }

  /**
   * What is no longer needed goes: tasks no longer assigned lose everything; tasks that no
   * longer run keep their state and logs but not their sandbox. Tasks in flight are left to
   * their launch.
   */
  private async collect(assignments: readonly Assignment[], signal: AbortSignal): Promise<void> {
    const assigned = new Set(assignments.map((a) => a.id))
    const busy = (id: string): boolean => {
      const t = this.tasks.get(id)
      return t !== undefined && inFlight(t)
    }
    for (const id of [...this.tasks.keys()]) if (!assigned.has(id) && !busy(id)) this.tasks.delete(id)
    for (const id of this.health.ids()) if (!assigned.has(id)) this.health.forget(id)
    for (const id of this.failedSeen) if (!assigned.has(id)) this.failedSeen.delete(id)
    const running = new Set<string>()
    for (const info of await this.c.runtime.list({ signal })) {
      if (busy(info.id)) continue
      if (!assigned.has(info.id)) await this.removeProcess(info.id, { signal })
      else if (info.state === 'running') running.add(info.id)
    }
    const idle: string[] = []
    for (const id of await this.c.networks.taskIds({ signal })) {
      if (running.has(id) || busy(id)) continue
      // a launch may have finished since the listing: the runtime has the last word
      if ((await this.c.runtime.status(id, { signal })).state !== 'running') idle.push(id)
    }
    if (idle.length > 0)
      await this.c.networks
        .release(idle, { signal })
        .catch((err: unknown) => this.c.logger.warn('sandbox removal failed', { tasks: idle, err }))
  }

  private track(burst: Promise<void>): void {
    this.bursts.add(burst)
    // report the burst's outcome at once rather than at the next period
    void burst.finally(() => {
      this.bursts.delete(burst)
      this.wake()
    })
  }

  /** One burst: every sandbox in one reconcile, then the processes side by side. */
  private async launch(batch: readonly Assignment[], signal: AbortSignal): Promise<void> {
    let prepared: { created: Set<string>; failed: Map<string, string> }
    try {
      prepared = await this.c.networks.prepare(
        batch.map((a) => ({
          id: a.id,
          attachments: a.attachments,
          service: { id: a.serviceId, name: a.serviceName, aliases: aliasesOf(a) },
          ...(a.ports !== undefined ? { ports: a.ports } : {}),
        })),
        { signal },
      )
    } catch (err) {
      // nothing of these tasks runs yet: each is rejected and its sandbox goes
      await this.rejectAll(batch, err, signal)
      return
    }
    // a sandbox the kernel refused fails its own task only; the rest of the burst starts
    const refused = batch.filter((a) => prepared.failed.has(a.id))
    for (const a of refused)
      await this.rejectAll([a], new Error(`sandbox: ${prepared.failed.get(a.id)}`), signal)
    const ready = batch.filter((a) => !prepared.failed.has(a.id))
    for (const a of ready) this.tasks.set(a.id, { phase: 'starting' })
    await Promise.all(ready.map((a) => this.startProcess(a, prepared.created.has(a.id), signal)))
    // in the load balancers and DNS once their process runs (with a health check: once healthy)
    const up = ready.filter((a) => this.tasks.get(a.id)?.phase === 'started')
    for (const a of up) if (a.health) this.health.watch(a.id, a.health)
    const started = up.filter((a) => !a.health).map((a) => a.id)
    if (started.length > 0)
      await this.c.networks
        .enable(started, { signal })
        .catch((err: unknown) => this.c.logger.warn('enabling endpoints failed', { tasks: started, err }))
  }

  private async rejectAll(batch: readonly Assignment[], err: unknown, signal: AbortSignal): Promise<void> {
    for (const a of batch) this.reject(a, err)
    await this.c.networks
      .release(
        batch.map((a) => a.id),
        { signal },
      )
      .catch(() => undefined)
  }

  private async startProcess(a: Assignment, sandboxCreated: boolean, signal: AbortSignal): Promise<void> {
    try {
      await this.c.runtime.start(
        {
          id: a.id,
          netns: this.c.networks.namespaceOf(a.id),
          argv: a.argv,
          env: {
            ...a.env,
            SWARMNET_TASK_ID: a.id,
            SWARMNET_SERVICE_NAME: a.serviceName,
            SWARMNET_TASK_SLOT: String(a.slot),
            SWARMNET_NODE_HOSTNAME: this.c.hostname,
          },
          hostname: hostnameOf(a),
          ...(a.limits !== undefined ? { limits: a.limits } : {}),
          ...(this.c.resolvConf !== undefined ? { resolvConf: this.c.resolvConf } : {}),
        },
        { signal },
      )
      this.counters.started++
      this.c.logger.info('task started', { task: a.id, service: a.serviceName, slot: a.slot })
    } catch (err) {
      // it is already there (an earlier start won): it was started, not rejected
      if (!(err instanceof TaskExistsError)) {
        this.reject(a, err)
        // undo only what this attempt made: its runtime record, and its sandbox if it built it
        await this.removeProcess(a.id, { signal })
        if (sandboxCreated) await this.c.networks.release([a.id], { signal }).catch(() => undefined)
        return
      }
    }
    this.tasks.set(a.id, { phase: 'started' })
  }

  private reject(a: Assignment, err: unknown): void {
    const error = ((err as Error).message ?? String(err)).slice(0, 1000)
    this.c.logger.warn('task failed to start', { task: a.id, service: a.serviceName, err })
    this.tasks.set(a.id, { phase: 'rejected', error })
    this.counters.rejected++
  }

  private async removeProcess(id: string, options?: AbortOptions): Promise<void> {
    await this.c.runtime
      .remove(id, options)
      .catch((err: unknown) => this.c.logger.warn('task remove failed', { task: id, err }))
  }
}

function inFlight(t: LocalTask): t is { phase: 'preparing' | 'starting' } {
  return t.phase === 'preparing' || t.phase === 'starting'
}
