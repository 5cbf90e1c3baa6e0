/**
 * What the runtime learns from /proc: liveness with a start-time check (pids are reused),
 * the children of a process, and which pid namespace level a process lives at.
 */
import { readdir, readFile, readlink } from 'node:fs/promises'

export interface ProcStat {
  readonly pid: number
  /** One letter: R, S, D, Z (zombie), X (dead), T, … */
  readonly state: string
  readonly ppid: number
  readonly pgrp: number
  /** Field 22: clock ticks after boot when the process started. */
  readonly startTime: number
}

/**
 * Parses /proc/PID/stat. `comm` (field 2) may contain spaces and parentheses, so the
 * fields are counted from the last `)`.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return undefined
  const pid = Number(text.slice(0, open).trim())
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/)
  // rest[0] is field 3 (state); field N is rest[N - 3]
  const state = rest[0]
  const ppid = Number(rest[1])
  const pgrp = Number(rest[2])
  const startTime = Number(rest[19])
  if (state === undefined || !Number.isInteger(pid) || !Number.isInteger(startTime)) return undefined
  return { pid, state, ppid, pgrp, startTime }
}

export async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}

/** True while `pid` runs (not a zombie) and, when given, started at `startTime`. */
export async function isAlive(pid: number, startTime?: number): Promise<boolean> {
  const st = await readStat(pid)
  if (st === undefined || st.state === 'Z' || st.state === 'X') return false
  return startTime === undefined || st.startTime === startTime
}

/** Direct children of `pid` (all its threads), from /proc/PID/task/TID/children. */
export async function childrenOf(pid: number): Promise<number[]> {
  let tids: string[]
  try {
    tids = await readdir(`/proc/${pid}/task`)
  } catch {
    return []
  }
  const lists = await Promise.all(
    tids.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')),
  )
  return lists.flatMap((l) =>
    l
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number),
  )
}

/** The NSpid line of /proc/PID/status: the pid in each nested pid namespace, outermost first. */
export async function nsPids(pid: number): Promise<number[]> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    return (/^NSpid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number)
  } catch {
    return []
  }
}

/** `net:[4026531840]` → 4026531840: the inode of one of a process's namespaces. */
export async function namespaceInode(pid: number, kind: 'net' | 'pid' | 'uts' | 'mnt'): Promise<number> {
  const link = await readlink(`/proc/${pid}/ns/${kind}`)
  const m = /\[([0-9]+)\]$/.exec(link)
  if (m?.[1] === undefined) throw new Error(`unexpected namespace link ${link}`)
  return Number(m[1])
}
