/** A task's processes as /proc shows them: its init, signalling it, waiting for the supervisor. */
import type { AbortOptions, Clock } from '@swarmnet/interface'
import { childrenOf, isAlive, nsPids, readStat } from './procfs.js'
import { killQuietly } from './spawn.js'
import type { TaskRecord } from './state.js'

interface InitProcess {
  readonly pid: number
  readonly startTime: number
}

/** The task's init while it lives: the recorded one, or found again under the supervisor. */
export async function liveInit(record: TaskRecord): Promise<number | undefined> {
  if (record.initPid !== undefined && (await isAlive(record.initPid, record.initStartTime)))
    return record.initPid
  if (record.pid === undefined || !(await isAlive(record.pid, record.startTime))) return undefined
  return (await findInit(record.pid))?.pid
}

/** supervisor → unshare → init: the grandchild that is pid 1 of a nested pid namespace. */
export async function findInit(supervisor: number): Promise<InitProcess | undefined> {
  for (const unshare of await childrenOf(supervisor)) {
    for (const pid of await childrenOf(unshare)) {
      const ns = await nsPids(pid)
      const stat = await readStat(pid)
      if (ns.length >= 2 && ns.at(-1) === 1 && stat !== undefined && stat.state !== 'Z')
        return { pid, startTime: stat.startTime }
    }
  }
  return undefined
}

/** Signals the task's init (its pid namespace), or the supervisor's group when there is none. */
export async function kill(record: TaskRecord, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (record.pid === undefined || !(await isAlive(record.pid, record.startTime))) return
  const init = await liveInit(record)
  if (init !== undefined) killQuietly(init, signal)
  else if (signal === 'SIGKILL') killQuietly(-record.pid, signal)
  // SIGTERM without an init: nothing graceful to address yet; stop escalates after the grace
}

/** Polls until the supervisor is gone (true) or `ms` elapsed (false). */
export async function gone(
  clock: Clock,
  pollMs: number,
  record: TaskRecord,
  ms: number,
  options?: AbortOptions,
): Promise<boolean> {
  const deadline = clock.now() + ms
  for (;;) {
    if (record.pid === undefined || !(await isAlive(record.pid, record.startTime))) return true
    if (clock.now() >= deadline) return false
    await clock.sleep(Math.min(pollMs, Math.max(1, deadline - clock.now())), options)
  }
}
