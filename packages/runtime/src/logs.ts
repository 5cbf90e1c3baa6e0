/**
 * A task's kept output, rotated by size. The task writes `<id>.log` itself (O_APPEND, no
 * pipe, so it outlives the agent); {@link rotateLog} moves it to `<id>.log.1` when it grows
 * past a size (copy, then truncate in place: the writer's offset follows the truncation, at
 * the price of losing what it writes between the two, a few bytes at most) and drops the
 * older `.log.1`. `<id>.log.off` holds how many bytes were dropped so far, so a position in
 * the output (what {@link readLog} returns as `end`) stays valid across rotations: a
 * follower asks for what came after it.
 */
import { appendFile, copyFile, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises'
import { removeFiles } from './state.js'
import type { ReadLogOptions } from './types.js'

/** Where one task's output lives. */
export interface LogFiles {
  readonly current: string
  readonly rotated: string
  readonly dropped: string
  /** `END MS` lines: by then (ms since the epoch) the output reached position END. */
  readonly stamps: string
}

export function logFiles(log: string): LogFiles {
  return { current: log, rotated: `${log}.1`, dropped: `${log}.off`, stamps: `${log}.ts` }
}

/** [position, ms]: the output had reached the position by that time. */
export type LogStamp = readonly [number, number]

/** At most this many stamps come back with one read (the newest). */
const MAX_STAMPS = 2_048

async function stampsOf(f: LogFiles): Promise<LogStamp[]> {
  const out: LogStamp[] = []
  for (const line of (await bytesOf(f.stamps)).toString('utf8').split('\n')) {
    const [end, ms] = line.split(' ').map(Number)
    if (Number.isSafeInteger(end) && Number.isSafeInteger(ms)) out.push([end as number, ms as number])
  }
  return out
}

/** Where the output ends now (dropped + rotated + current). */
export async function logEnd(f: LogFiles): Promise<number> {
  return (await droppedOf(f)) + (await sizeOf(f.rotated)) + (await sizeOf(f.current))
}

/**
 * Records that the output reached its current end by `now`, when it grew past `after` (the
 * last end stamped); returns the end.
 */
export async function stampLog(f: LogFiles, now: number, after: number): Promise<number> {
  const end = await logEnd(f)
  if (end > after) await appendFile(f.stamps, `${end} ${now}\n`)
  return end
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
}

async function bytesOf(path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0)
    throw err
  }
}

async function droppedOf(f: LogFiles): Promise<number> {
  const n = Number((await bytesOf(f.dropped)).toString('utf8').trim() || '0')
  return Number.isSafeInteger(n) && n >= 0 ? n : 0
}

/**
 * The kept output (rotated part first), the position of its end and the stamps past the
 * start of the text (a line ending at E was written by the time of the first stamp ≥ E).
 */
export async function readLog(
  f: LogFiles,
  o: ReadLogOptions = {},
): Promise<{ text: string; end: number; stamps: LogStamp[] }> {
  const dropped = await droppedOf(f)
  const all = Buffer.concat([await bytesOf(f.rotated), await bytesOf(f.current)])
  const end = dropped + all.length
  let start = o.from === undefined ? 0 : Math.max(0, o.from - dropped)
  start = Math.max(start, all.length - (o.maxBytes ?? 1024 * 1024))
  let text = all.subarray(Math.min(start, all.length)).toString('utf8')
  if (o.tail !== undefined) text = tailLines(text, o.tail)
  const from = end - Buffer.byteLength(text)
  const stamps = (await stampsOf(f)).filter(([e]) => e > from).slice(-MAX_STAMPS)
  return { text, end, stamps }
}

/** The last `n` lines of `text` (a final newline does not count as an empty line). */
export function tailLines(text: string, n: number): string {
  if (n <= 0) return ''
  const body = text.endsWith('\n') ? text.slice(0, -1) : text
  const lines = body.split('\n')
  const kept = lines.slice(Math.max(0, lines.length - n)).join('\n')
  return text.endsWith('\n') && kept !== '' ? `${kept}\n` : kept
}

/** Moves the output to `.log.1` once it is over `maxBytes`; true when it did. */
export async function rotateLog(f: LogFiles, maxBytes: number): Promise<boolean> {
  if ((await sizeOf(f.current)) <= maxBytes) return false
  const dropped = (await droppedOf(f)) + (await sizeOf(f.rotated))
  const tmp = `${f.rotated}.tmp`
  await copyFile(f.current, tmp)
  await rename(tmp, f.rotated)
  await writeFile(f.dropped, `${dropped}\n`)
  await truncate(f.current, 0)
  // stamps of what was dropped go with it
  const kept = (await stampsOf(f)).filter(([e]) => e > dropped)
  await writeFile(f.stamps, kept.map(([e, ms]) => `${e} ${ms}\n`).join(''))
  return true
}

export async function removeLog(f: LogFiles): Promise<void> {
  await removeFiles(f.current, f.rotated, f.dropped, f.stamps, `${f.rotated}.tmp`)
}
