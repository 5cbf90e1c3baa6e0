/**
 * When each task's output was written: a task writes its log file itself (no pipe through
 * the agent), so the runtime watches the log directory (inotify, through fs.watch) and, a
 * short while after a file grows, records `END MS` in `<id>.log.ts` — the output had reached
 * END by then. A line's time is that of the first stamp at or past its end: at most
 * {@link STAMP_DEBOUNCE_MS} plus the event's delay late. Output written while no agent watches
 * gets the time it is next seen (the next event, or the next read, which stamps first).
 */
import { watch } from 'node:fs/promises'
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { type LogFiles, stampLog } from './logs.js'

/** How long after a write event the output's end is stamped (writes in between share it). */
export const STAMP_DEBOUNCE_MS = 20

const TASK_LOG = /^(.+)\.log$/

export class OutputStamper {
  /** The last end stamped, per task (from this process's start). */
  private readonly last = new Map<string, number>()
  private readonly pending = new Set<string>()

  constructor(
    private readonly c: { clock: Clock; logger: Logger },
    private readonly files: (taskId: string) => LogFiles,
  ) {}

  /** Stamps the task's output end now, if it grew. */
  async stamp(taskId: string): Promise<void> {
    const end = await stampLog(this.files(taskId), this.c.clock.now(), this.last.get(taskId) ?? -1)
    this.last.set(taskId, end)
  }

  forget(taskId: string): void {
    this.last.delete(taskId)
  }

  /** Watches `logDir` until `signal` aborts; stamps each log that grows. */
  async watch(logDir: string, options: AbortOptions): Promise<void> {
    try {
      for await (const e of watch(logDir, { signal: options.signal })) {
        const id = e.filename === null ? undefined : TASK_LOG.exec(e.filename)?.[1]
        if (id === undefined || this.pending.has(id)) continue
        this.pending.add(id)
        void this.c.clock
          .sleep(STAMP_DEBOUNCE_MS, options)
          .then(() => this.stamp(id))
          .catch((err: unknown) => {
            if (!options.signal?.aborted) this.c.logger.debug('output stamp failed', { task: id, err })
          })
          .finally(() => this.pending.delete(id))
      }
    } catch (err) {
      if (!options.signal?.aborted) throw err
    }
  }
}
