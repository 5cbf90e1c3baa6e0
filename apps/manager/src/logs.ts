/**
 * `service logs` on the manager: the kept output of every attempt of a service (a task row
 * kept is an attempt whose output its node keeps), or of one task, fetched from the nodes
 * through their next sync (dispatcher.ts). Answers in slot order, the oldest attempt of a
 * slot first, within {@link LOGS_BUDGET} bytes in all (each task's newest output kept).
 */
import type { AbortOptions } from '@swarmnet/interface'
import { NotFoundError } from '@swarmnet/interface'
import type { Task } from '@swarmnet/orchestrator'
import type { TaskJson } from '@swarmnet/wire'
import type { LogChunk } from './dispatcher.js'
import { resolveRef } from './refs.js'

/** What all tasks' output together may take of an answer (the API's bodies are ≤ 1 MiB). */
export const LOGS_BUDGET = 768 * 1024

export interface LogsRequest {
  ref: string
  tail?: number | undefined
  from?: Record<string, number> | undefined
  follow?: boolean | undefined
}

export interface LogsComponents {
  ps(ref: string, options?: AbortOptions): Promise<TaskJson[]>
  tasks(options?: AbortOptions): Promise<Task[]>
  waitLogs(wanted: ReadonlyArray<{ id: string; from?: number }>, options?: AbortOptions): Promise<LogChunk[]>
}

export interface TaskLogs {
  task: string
  name: string
  node: string
  slot: number
  text: string
  end?: number
  times?: Array<[number, number]>
}

/** The rows whose output is asked for: the service's, or the one task `ref` names. */
async function rowsOf(c: LogsComponents, ref: string, options?: AbortOptions): Promise<TaskJson[]> {
  try {
    return await c.ps(ref, options)
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
    let task: Task
    try {
      task = resolveRef('task', await c.tasks(options), ref, (t) => t.id)
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(`no service or task ${ref}`)
      throw e
    }
    return (await c.ps(task.serviceId, options)).filter((t) => t.id === task.id)
  }
}

export async function serviceLogs(
  c: LogsComponents,
  req: LogsRequest,
  options?: AbortOptions,
): Promise<TaskLogs[]> {
  // ps lists each slot newest first: reversed, then sorted by slot (stable), oldest first
  const rows = (await rowsOf(c, req.ref, options))
    .filter((t) => t.nodeId !== '')
    .reverse()
    .sort((a, b) => a.slot - b.slot)
  const wanted = rows.map((t) => {
    const from = req.from?.[t.id] ?? (req.follow === true ? 0 : undefined)
    return from === undefined ? { id: t.id } : { id: t.id, from }
  })
  const chunks = await c.waitLogs(wanted, options)
  const budget = Math.floor(LOGS_BUDGET / Math.max(1, rows.length))
  return rows.map((t, i) => {
    const chunk = chunks[i] ?? { text: '' }
    let text = chunk.text
    if (wanted[i]?.from === undefined && req.tail !== undefined) text = lastLines(text, req.tail)
    if (text.length > budget) text = text.slice(text.length - budget)
    return {
      task: t.id,
      name: t.name.replace(/^\s*\\_\s*/, ''),
      node: t.node,
      slot: t.slot,
      text,
      ...(chunk.end !== undefined ? { end: chunk.end } : {}),
      ...(chunk.times !== undefined ? { times: chunk.times } : {}),
    }
  })
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return n === 0 ? '' : `${lines.slice(-n).join('\n')}\n`
}
