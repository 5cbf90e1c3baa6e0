/**
 * The on-disk state of tasks: one JSON record per task plus the exit file the supervisor
 * writes, both under stateDir. Parsing is pure and strict, so a half-written or foreign
 * file is reported instead of guessed at. Records are replaced atomically (write + rename).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TaskCgroupRecord } from './cgroup-fs.js'
import { CorruptStateError } from './errors.js'

/** What the runtime remembers about a task (`<stateDir>/<id>.json`, version 1). */
export interface TaskRecord {
  readonly version: 1
  readonly id: string
  readonly netns: string
  readonly argv: readonly string[]
  /** The caller's env (without the defaults the runtime adds); reused by `exec`. */
  readonly env: Readonly<Record<string, string>>
  readonly hostname: string
  /** Clock time when `start` was called (ms since the epoch). */
  readonly createdAt: number
  /** The supervisor: session and process-group leader. Absent until it was spawned. */
  readonly pid?: number
  /** Field 22 of /proc/PID/stat of the supervisor, to tell it from a reused pid. */
  readonly startTime?: number
  /** The task's init (pid 1 of its pid namespace), as a host pid. */
  readonly initPid?: number
  readonly initStartTime?: number
  /** The task's cgroup, when it has limits. */
  readonly cgroup?: TaskCgroupRecord
}

export interface TaskPaths {
  readonly record: string
  readonly exit: string
  readonly log: string
  /** the task's resolv.conf, when it has its own */
  readonly resolv: string
}

export function taskPaths(stateDir: string, logDir: string, taskId: string): TaskPaths {
  return {
    record: join(stateDir, `${taskId}.json`),
    exit: join(stateDir, `${taskId}.exit`),
    log: join(logDir, `${taskId}.log`),
    resolv: join(stateDir, `${taskId}.resolv.conf`),
  }
}

const RECORD_FILE = /^(.+)\.json$/

/** The task id a directory entry of stateDir holds a record for, or undefined. */
export function taskIdOfFile(name: string): string | undefined {
  return RECORD_FILE.exec(name)?.[1]
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function optionalPid(o: Record<string, unknown>, key: string, path: string): number | undefined {
  const v = o[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
    throw new CorruptStateError(path, `${key} is not a positive integer`)
  return v
}

/** Parses a record file's text; throws {@link CorruptStateError}. */
export function parseRecord(text: string, path = '<record>'): TaskRecord {
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch (err) {
    throw new CorruptStateError(path, 'not JSON', { cause: err })
  }
  if (!isObject(o)) throw new CorruptStateError(path, 'not an object')
  if (o.version !== 1) throw new CorruptStateError(path, `unknown version ${String(o.version)}`)
  const { id, netns, argv, env, hostname, createdAt } = o
  if (typeof id !== 'string' || id === '') throw new CorruptStateError(path, 'id missing')
  if (typeof netns !== 'string') throw new CorruptStateError(path, 'netns missing')
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string'))
    throw new CorruptStateError(path, 'argv is not a list of strings')
  if (!isObject(env) || !Object.values(env).every((v) => typeof v === 'string'))
    throw new CorruptStateError(path, 'env is not a string map')
  if (typeof hostname !== 'string') throw new CorruptStateError(path, 'hostname missing')
  if (typeof createdAt !== 'number') throw new CorruptStateError(path, 'createdAt missing')
  const pid = optionalPid(o, 'pid', path)
  const startTime = optionalPid(o, 'startTime', path)
  const initPid = optionalPid(o, 'initPid', path)
  const initStartTime = optionalPid(o, 'initStartTime', path)
  const cgroup = parseCgroup(o.cgroup, path)
  return {
    version: 1,
    id,
    netns,
    argv: argv as string[],
    env: env as Record<string, string>,
    hostname,
    createdAt,
    ...(pid !== undefined && { pid }),
    ...(startTime !== undefined && { startTime }),
    ...(initPid !== undefined && { initPid }),
    ...(initStartTime !== undefined && { initStartTime }),
    ...(cgroup !== undefined && { cgroup }),
  }
}

function parseCgroup(v: unknown, path: string): TaskCgroupRecord | undefined {
  if (v === undefined) return undefined
  const ok =
    isObject(v) &&
    Array.isArray(v.dirs) &&
    v.dirs.every((d) => typeof d === 'string' && d.startsWith('/')) &&
    (v.oomFile === undefined || typeof v.oomFile === 'string') &&
    (v.usageFile === undefined || typeof v.usageFile === 'string')
  if (!ok) throw new CorruptStateError(path, 'cgroup is not { dirs, oomFile?, usageFile? }')
  return v as unknown as TaskCgroupRecord
}

/**
 * The exit status in an exit file: a decimal 0–255 and a newline. Undefined while the
 * file is being written (empty or no newline yet) or holds anything else.
 */
export function parseExitFile(text: string): number | undefined {
  const m = /^([0-9]{1,3})\n$/.exec(text)
  if (m?.[1] === undefined) return undefined
  const code = Number(m[1])
  return code <= 255 ? code : undefined
}

/** Reads a file, undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
}

/** Creates the record; fails with EEXIST when one exists (the start lock). */
export async function createRecord(path: string, record: TaskRecord): Promise<void> {
  const fh = await open(path, 'wx', 0o600)
  try {
    await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Replaces the record atomically. */
export async function replaceRecord(path: string, record: TaskRecord): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
  await rename(tmp, path)
}

/** Writes (replaces) an exit file, for a supervisor that could not write it itself. */
export async function writeExitFile(path: string, code: number): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, `${code}\n`, { mode: 0o600 })
  await rename(tmp, path)
}

export async function removeFiles(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })))
}
