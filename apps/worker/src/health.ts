/**
 * Health checks of the tasks on this node (Docker's `HEALTHCHECK`): every interval the check
 * runs inside the task's namespaces (as `swarmnet exec` does); exit 0 is healthy. A task with a
 * check is `starting` until its first success and out of the load balancers and DNS until then;
 * `retries` consecutive failures (not counted during the start period) make it `unhealthy`:
 * its entry is disabled and it is stopped, reported failed, and the manager replaces it.
 */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { type Runtime, TaskNotRunningError } from '@swarmnet/runtime'
import type { Assignment, TaskReport } from '@swarmnet/wire'

export type HealthState = 'starting' | 'healthy' | 'unhealthy'
export type HealthCheck = NonNullable<Assignment['health']>

/** The error of a task stopped for failing its health check. */
export const UNHEALTHY_ERROR = 'task: unhealthy container (health check failed)'

export interface HealthComponents {
  clock: Clock
  logger: Logger
  /** Runs argv in the task; its exit code. */
  exec(taskId: string, argv: readonly string[], options: AbortOptions): Promise<{ exitCode: number }>
  /** In (out of) the load balancers and DNS. */
  enable(taskIds: string[], options: AbortOptions): Promise<void>
  disable(taskIds: string[], options: AbortOptions): Promise<void>
  /** Stops the task's process. */
  stop(taskId: string, options: AbortOptions): Promise<void>
  /** Report the change now. */
  wake(): void
}

interface Probe {
  state: HealthState
  failures: number
  readonly startedAt: number
  readonly stop: AbortController
}

/** A task's report with its health; a task stopped for failing its check is failed, whatever its exit. */
export function withHealth(r: TaskReport, health: HealthState | undefined): TaskReport {
  if (health === undefined) return r
  if (health === 'unhealthy' && (r.state === 'failed' || r.state === 'complete'))
    return { ...r, state: 'failed', error: UNHEALTHY_ERROR, health }
  return { ...r, health }
}

/** The monitor of the task agent: checks through the runtime, entries through the networks. */
export function monitorTasks(
  c: {
    clock: Clock
    logger: Logger
    runtime: Pick<Runtime, 'exec' | 'stop'>
    networks: Pick<HealthComponents, 'enable' | 'disable'>
  },
  wake: () => void,
  signal: AbortSignal,
): HealthMonitor {
  return new HealthMonitor(
    {
      clock: c.clock,
      logger: c.logger,
      exec: (id, argv, o) => c.runtime.exec(id, argv, o),
      enable: (ids, o) => c.networks.enable(ids, o),
      disable: (ids, o) => c.networks.disable(ids, o),
      stop: async (id, o) => {
        await c.runtime.stop(id, o)
      },
      wake,
    },
    signal,
  )
}

export class HealthMonitor {
  private readonly probes = new Map<string, Probe>()

  constructor(
    private readonly c: HealthComponents,
    private readonly signal: AbortSignal,
  ) {}

  /** Starts checking a task that just started (once; again is a no-op). */
  watch(taskId: string, check: HealthCheck): void {
    if (this.probes.has(taskId)) return
    const probe: Probe = {
      state: 'starting',
      failures: 0,
      startedAt: this.c.clock.now(),
      stop: new AbortController(),
    }
    this.probes.set(taskId, probe)
    const signal = AbortSignal.any([this.signal, probe.stop.signal])
    void this.loop(taskId, check, probe, signal).catch((err: unknown) => {
      if (!signal.aborted) this.c.logger.warn('health checks stopped', { task: taskId, err })
    })
  }

  /** The task's last health result; undefined without a check. */
  state(taskId: string): HealthState | undefined {
    return this.probes.get(taskId)?.state
  }

  /** The task is being checked (its entry is enabled by the monitor, not at its start). */
  has(taskId: string): boolean {
    return this.probes.has(taskId)
  }

  /** Stops checking (the task stops or goes); an unhealthy task's verdict is kept until then. */
  forget(taskId: string): void {
    this.probes.get(taskId)?.stop.abort()
    this.probes.delete(taskId)
  }

  /** Tasks checked now. */
  ids(): string[] {
    return [...this.probes.keys()]
  }

  private async loop(taskId: string, check: HealthCheck, probe: Probe, signal: AbortSignal): Promise<void> {
    for (;;) {
      await this.c.clock.sleep(check.intervalMs, { signal })
      const ok = await this.once(taskId, check, signal)
      // the task ended by itself: its exit is its report, not a health verdict
      if (ok === undefined) return
      if (ok) {
        probe.failures = 0
        if (probe.state !== 'healthy') {
          probe.state = 'healthy'
          await this.c.enable([taskId], { signal })
          this.c.logger.info('task healthy', { task: taskId })
          this.c.wake()
        }
        continue
      }
      const starting = this.c.clock.now() - probe.startedAt < check.startPeriodMs
      if (starting && probe.state === 'starting') continue
      if (++probe.failures < check.retries) continue
      probe.state = 'unhealthy'
      this.c.logger.warn('task unhealthy', { task: taskId, failures: probe.failures })
      await this.c.disable([taskId], { signal })
      this.c.wake()
      await this.c.stop(taskId, { signal })
      return
    }
  }

  /** One check, bounded by its timeout: passed or not; undefined when the task no longer runs. */
  private async once(taskId: string, check: HealthCheck, signal: AbortSignal): Promise<boolean | undefined> {
    const timeout = new AbortController()
    const timer = this.c.clock
      .sleep(check.timeoutMs, { signal: AbortSignal.any([signal, timeout.signal]) })
      .then(
        () => timeout.abort(),
        () => undefined,
      )
    try {
      const r = await this.c.exec(taskId, ['/bin/sh', '-c', check.cmd], {
        signal: AbortSignal.any([signal, timeout.signal]),
      })
      return r.exitCode === 0
    } catch (err) {
      signal.throwIfAborted()
      if (err instanceof TaskNotRunningError) return undefined
      this.c.logger.debug('health check did not run', { task: taskId, err })
      return false
    } finally {
      timeout.abort()
      await timer
    }
  }
}
