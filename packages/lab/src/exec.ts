/**
 * The one module of the lab that starts processes.
 *
 * - `spawnHolder` starts a detached `unshare` holder whose stderr goes to a log file: it
 *   must outlive the process that ran `up` (the CLI exits right after).
 * - `runIn` / `spawnIn` run a command inside a node with `nsenter --all` (mount, uts, ipc,
 *   net, pid, cgroup, time; root and working directory of the holder), as if logged in.
 *   nsenter forks once to enter the pid namespace and does not forward signals, so kill
 *   and abort go to its children (the command) first, then to nsenter itself.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { constants } from 'node:os'
import type { Readable, Writable } from 'node:stream'
import type { AbortOptions } from '@swarmnet/interface'
import { execa, type Result } from 'execa'
import { childrenOf } from './procfs.js'

/** What a finished command left behind. A command killed by signal N reports 128 + N. */
export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface ExecOptions extends AbortOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string
  /** Extra environment on top of this process's. */
  env?: Record<string, string>
  /**
   * `pipe` (default) captures stdout and stderr into the result; `inherit` passes this
   * process's stdio through (the result's stdout and stderr are then empty).
   */
  stdio?: 'pipe' | 'inherit'
}

/** A command running inside a node (see `Lab.spawn`). */
export interface LabProcess {
  /** pid of the nsenter process in the machine's pid namespace. */
  readonly pid: number
  readonly stdin: Writable | null
  readonly stdout: Readable | null
  readonly stderr: Readable | null
  /** Settles when the command ends; never rejects for a non-zero exit. */
  readonly result: Promise<ExecResult>
  /** Sends `signal` (default SIGTERM) to the command inside the node. */
  kill(signal?: NodeJS.Signals): Promise<void>
}

export interface HolderSpawn {
  args: readonly string[]
  env: Record<string, string>
  /** File descriptor that receives the holder's stderr. */
  logFd: number
}

export function spawnHolder(holder: HolderSpawn): ChildProcess {
  const child = spawn('unshare', holder.args, {
    cwd: '/',
    detached: true,
    env: holder.env,
    stdio: ['ignore', 'ignore', holder.logFd],
  })
  child.unref()
  return child
}

/** Which namespaces nsenter joins: all of them, or only the network (`ip … netns <pid>`). */
export type Enter = 'all' | 'net'

export async function runIn(
  pid: number,
  argv: readonly string[],
  options: ExecOptions = {},
  enter: Enter = 'all',
): Promise<ExecResult> {
  const proc = spawnIn(pid, argv, options, enter)
  const signal = options.signal
  if (signal === undefined) return proc.result
  const onAbort = (): void => void killTree(proc.pid, 'SIGKILL')
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const result = await proc.result
    signal.throwIfAborted()
    return result
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

export function spawnIn(
  pid: number,
  argv: readonly string[],
  options: ExecOptions = {},
  enter: Enter = 'all',
): LabProcess {
  options.signal?.throwIfAborted()
  const sub = execa(
    'nsenter',
    ['--target', String(pid), enter === 'all' ? '--all' : '--net', '--', ...argv],
    {
      reject: false,
      stripFinalNewline: true,
      env: options.env ?? {},
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.stdio === 'inherit' ? { stdio: 'inherit' as const } : {}),
    },
  )
  if (sub.pid === undefined) throw new Error('nsenter could not be started')
  const nsenterPid = sub.pid
  return {
    pid: nsenterPid,
    stdin: sub.stdin,
    stdout: sub.stdout,
    stderr: sub.stderr,
    result: sub.then(toResult),
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      const children = await childrenOf(nsenterPid)
      if (children.length === 0) sub.kill(signal)
      for (const c of children) safeKill(c, signal)
    },
  }
}

/** SIGKILL-style teardown of a process and all its descendants, leaves first. */
async function killTree(pid: number, signal: NodeJS.Signals): Promise<void> {
  for (const c of await childrenOf(pid)) await killTree(c, signal)
  safeKill(pid, signal)
}

export function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

function toResult(r: Result): ExecResult {
  const text = (v: unknown): string => (typeof v === 'string' ? v : '')
  let exitCode = r.exitCode ?? 1
  if (r.exitCode === undefined && r.signal !== undefined) exitCode = 128 + (constants.signals[r.signal] ?? 0)
  return { exitCode, stdout: text(r.stdout), stderr: text(r.stderr) }
}
