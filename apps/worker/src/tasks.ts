/**
 * The node's side of the dispatcher: every {@link SYNC_PERIOD_MS} it reports the state of
 * its tasks and receives the tasks assigned to it, then converges the runtime:
 *
 * - desired running, not here yet → sandbox (one leg per network, through the overlay
 *   controller, so the task's IP/MAC/VTEP is gossiped) → process started in it;
 * - desired shutdown/remove → process stopped (state kept for `service ps` and logs);
 * - here but no longer assigned at all → process, state, logs and sandbox removed.
 *
 * Tasks run detached from the agent: a restarted agent adopts them from the runtime's state
 * directory, so nothing leaks and nothing restarts needlessly.
 */
import type { AbortOptions, Clock, Logger, Periodic } from '@swarmnet/interface'
import { startPeriodic } from '@swarmnet/interface'
import type { Runtime, TaskInfo } from '@swarmnet/runtime'
import type { Assignment, TaskReport } from '@swarmnet/wire'
import type { NetworkController } from './networks.js'

export const SYNC_PERIOD_MS = 1_000
const LOG_TAIL_LINES = 200

export interface TaskAgentComponents {
  logger: Logger
  clock: Clock
  runtime: Runtime
  networks: Pick<NetworkController, 'attach' | 'sandbox' | 'has' | 'detach' | 'namespaceOf'>
  /** The dispatcher session with the manager: reports out, assignments in. */
  dispatcher: Dispatcher
  hostname: string
}

export interface Dispatcher {
  sync(
    req: { reports: TaskReport[] },
    options: AbortOptions,
  ): Promise<{ assignments: Assignment[]; wantLogs: string[] }>
}

export class TaskAgent {
  private readonly c: TaskAgentComponents
  private readonly loop = new AbortController()
  private periodic: Periodic | undefined
  /** Tasks being prepared or started now, with the state to report meanwhile. */
  private readonly busy = new Map<string, TaskReport>()
  /** Tasks that could not be started: reported as rejected until they are reassigned. */
  private readonly rejected = new Map<string, string>()
  private wantLogs = new Set<string>()
  /** Desired state of each task at the last sync: a task stopped on purpose reports `shutdown`. */
  private desired = new Map<string, Assignment['desiredState']>()

  constructor(components: TaskAgentComponents) {
    this.c = components
  }

  start(): void {
    this.periodic = startPeriodic({
      clock: this.c.clock,
      periodMs: SYNC_PERIOD_MS,
      signal: this.loop.signal,
      tick: (signal) => this.syncOnce(signal),
      onError: (err) => this.c.logger.debug('task sync failed', { err }),
    })
  }

  async stop(): Promise<void> {
    this.loop.abort()
    await this.periodic?.done
  }

  /** Stops and removes every task of this node (the node leaves the cluster). */
  async removeAll(options?: AbortOptions): Promise<void> {
    for (const t of await this.c.runtime.list(options)) await this.cleanup(t.id, options)
  }

  private async syncOnce(signal: AbortSignal): Promise<void> {
    const local = await this.c.runtime.list({ signal })
    const reports: TaskReport[] = []
    for (const t of local) {
      if (this.busy.has(t.id)) continue
      const r = reportOf(t, this.desired.get(t.id) ?? 'running')
      if (this.wantLogs.has(t.id))
        r.logTail = (await this.c.runtime.logs(t.id, { tail: LOG_TAIL_LINES, signal })).slice(-60_000)
      reports.push(r)
    }
    reports.push(...this.busy.values())
    for (const [id, error] of this.rejected) reports.push({ id, state: 'rejected', error })
    const res = await this.c.dispatcher.sync({ reports }, { signal })
    this.wantLogs = new Set(res.wantLogs)
    this.desired = new Map(res.assignments.map((a) => [a.id, a.desiredState]))
    const assigned = new Map(res.assignments.map((a) => [a.id, a]))
    for (const id of this.rejected.keys()) if (!assigned.has(id)) this.rejected.delete(id)
    const here = new Map(local.map((t) => [t.id, t]))
    for (const a of res.assignments) {
      const t = here.get(a.id)
      if (a.desiredState === 'running') {
        if (t === undefined && !this.busy.has(a.id) && !this.rejected.has(a.id)) void this.launch(a, signal)
      } else if (t?.state === 'running') {
        await this.c.runtime
          .stop(a.id, { signal })
          .catch((err: unknown) => this.c.logger.warn('stop failed', { task: a.id, err }))
      }
    }
    for (const t of await this.c.runtime.list({ signal })) {
      if (this.busy.has(t.id)) continue
      if (!assigned.has(t.id)) await this.cleanup(t.id, { signal })
      // a task that is no longer running keeps its state and logs, not its sandbox:
      // its namespace, veths and gossiped entries go now
      else if (t.state !== 'running' && (await this.c.networks.has(t.id, { signal })))
        await this.c.networks
          .detach(t.id, { signal })
          .catch((err: unknown) => this.c.logger.warn('detach failed', { task: t.id, err }))
    }
  }

  private async launch(a: Assignment, signal: AbortSignal): Promise<void> {
    this.busy.set(a.id, { id: a.id, state: 'preparing' })
    try {
      if (a.networks.length === 0) await this.c.networks.sandbox(a.id, { signal })
      for (const net of a.networks) await this.c.networks.attach(net, a.id, { signal })
      this.busy.set(a.id, { id: a.id, state: 'starting' })
      const netns = this.c.networks.namespaceOf(a.id)
      await this.c.runtime.start(
        {
          id: a.id,
          netns,
          argv: a.argv,
          env: {
            ...a.env,
            SWARMNET_TASK_ID: a.id,
            SWARMNET_SERVICE_NAME: a.serviceName,
            SWARMNET_TASK_SLOT: String(a.slot),
            SWARMNET_NODE_HOSTNAME: this.c.hostname,
          },
          hostname: `${a.serviceName}.${a.slot}`.slice(0, 63),
        },
        { signal },
      )
      this.c.logger.info('task started', { task: a.id, service: a.serviceName, slot: a.slot })
    } catch (err) {
      const msg = (err as Error).message
      this.c.logger.warn('task failed to start', { task: a.id, err })
      this.rejected.set(a.id, msg.slice(0, 1000))
      await this.cleanup(a.id, { signal }).catch(() => undefined)
    } finally {
      this.busy.delete(a.id)
    }
  }

  /** Removes everything of a task on this node; idempotent. */
  private async cleanup(id: string, options?: AbortOptions): Promise<void> {
    await this.c.runtime
      .remove(id, options)
      .catch((err: unknown) => this.c.logger.warn('task remove failed', { task: id, err }))
    await this.c.networks.detach(id, options).catch(() => undefined)
  }
}

function reportOf(t: TaskInfo, desired: Assignment['desiredState']): TaskReport {
  if (t.state === 'running') return { id: t.id, state: 'running' }
  if (t.state === 'exited' && desired !== 'running')
    return { id: t.id, state: 'shutdown', ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}) }
  if (t.state === 'exited') {
    const code = t.exitCode ?? -1
    return code === 0
      ? { id: t.id, state: 'complete', exitCode: 0 }
      : { id: t.id, state: 'failed', exitCode: code, error: `task: non-zero exit (${code})` }
  }
  return { id: t.id, state: 'failed', error: 'task state lost' }
}
