/**
 * The only module of the runtime that spawns processes: the detached supervisor of a task
 * (node:child_process, because it must outlive the agent and nobody awaits it) and `exec`
 * into a task (execa, awaited, cancellable).
 */
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { constants as osConstants } from 'node:os'
import { delimiter, join } from 'node:path'
import type { AbortOptions } from '@swarmnet/interface'
import { execa } from 'execa'
import { childrenOf } from './procfs.js'
import { DEFAULT_PATH, type Tools } from './shim.js'

/** Finds a program on the agent's PATH plus the sbin directories (root tools live there). */
export function which(name: string, path = `${process.env.PATH ?? ''}${delimiter}${DEFAULT_PATH}`): string {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  throw new Error(`${name} not found on PATH (${path})`)
}

let cachedTools: Tools | undefined

/** Absolute paths of sh, ip, unshare and nsenter; resolved once per process. */
export function resolveTools(): Tools {
  cachedTools ??= {
    sh: which('sh'),
    ip: which('ip'),
    unshare: which('unshare'),
    nsenter: which('nsenter'),
    mount: which('mount'),
  }
  return cachedTools
}

export interface DetachedInit {
  readonly argv: readonly string[]
  readonly env: Readonly<Record<string, string>>
  /** stdout and stderr are appended here; stdin is /dev/null. */
  readonly logFile: string
}

/**
 * Starts a process in a new session (setsid), with stdio on files only, and lets go of it:
 * no pipe, no handle that keeps the agent alive, no kill when the agent exits. Resolves
 * with its pid once the kernel has created it.
 */
export async function spawnDetached(init: DetachedInit): Promise<number> {
  const [file, ...args] = init.argv
  if (file === undefined) throw new TypeError('empty argv')
  const log = await open(init.logFile, 'a', 0o640)
  try {
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { ...init.env },
      cwd: '/',
    })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => {
        if (child.pid === undefined) reject(new Error('spawned without a pid'))
        else resolve(child.pid)
      })
    })
    // libuv still reaps it if it exits while the agent lives; nothing else holds it
    child.removeAllListeners('error')
    child.on('error', () => {})
    child.unref()
    return pid
  } finally {
    await log.close()
  }
}

export interface ExecRun extends AbortOptions {
  readonly argv: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly stdio: 'inherit' | 'pipe'
  /** stdin for `pipe` (default: none). */
  readonly input?: string | undefined
}

export interface ExecOutcome {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs argv to completion. The exit code of a signalled process is 128 + signal. On abort
 * the process and its direct children (nsenter forks to enter a pid namespace) get SIGKILL
 * and the call rejects with the signal's reason.
 */
export async function runToCompletion(run: ExecRun): Promise<ExecOutcome> {
  run.signal?.throwIfAborted()
  const [file, ...args] = run.argv
  if (file === undefined) throw new TypeError('empty argv')
  const sub = execa(file, args, {
    env: { ...run.env },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    ...(run.stdio === 'inherit'
      ? { stdio: 'inherit' as const }
      : run.input !== undefined
        ? { input: run.input }
        : { stdin: 'ignore' as const }),
  })
  const onAbort = (): void => {
    const pid = sub.pid
    if (pid === undefined) return
    void childrenOf(pid).then((kids) => {
      for (const k of kids) killQuietly(k, 'SIGKILL')
      sub.kill('SIGKILL')
    })
  }
  run.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const r = await sub
    run.signal?.throwIfAborted()
    if (r.failed && r.exitCode === undefined && r.signal === undefined)
      throw new Error(`${file} could not be run: ${r.shortMessage}`, { cause: r.cause })
    const exitCode = r.exitCode ?? (r.signal !== undefined ? 128 + (osConstants.signals[r.signal] ?? 0) : -1)
    return {
      exitCode,
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderr: typeof r.stderr === 'string' ? r.stderr : '',
    }
  } finally {
    run.signal?.removeEventListener('abort', onAbort)
  }
}

/** kill(2) that ignores ESRCH (already gone); other errors (EPERM) propagate. */
export function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}
