/**
 * The Linux task runtime.
 *
 * Design: why tasks are detached, and how state survives an agent restart.
 *
 * A task must outlive the agent that started it: upgrading or restarting `swarmnet agent`
 * must not take the node's workloads down (Docker's `live-restore`, here the only mode).
 * So the runtime never keeps a task as an in-memory child: each task runs under a small
 * sh supervisor started in its own session (setsid, its own process group), with stdin
 * /dev/null and stdout/stderr appended to a file, and the agent lets go of it at once
 * (see `shim.ts` for the process chain and `spawn.ts` for the spawn).
 *
 * Everything the runtime knows is on disk under stateDir, never only in memory:
 * - `<id>.json`: the spec, the supervisor's pid and its start time (field 22 of
 *   /proc/PID/stat), and the task init's pid and start time. A pid alone could have been
 *   reused by an unrelated process after a reboot or a long outage; pid + start time cannot.
 * - `<id>.exit`: written by the supervisor itself when the task ends, so the exit code of a
 *   process whose parent (the old agent) is gone is still known. Only when the runtime
 *   itself escalates to SIGKILL does it write the file (137), as the supervisor cannot
 *   report that truthfully (see `stop`).
 * A new runtime instance over the same stateDir therefore answers status/list/stop/exec
 * for tasks started by the previous one: adoption is just reading the directory.
 *
 * Stopping: SIGTERM goes to the task's init (pid 1 of the task's pid namespace), which
 * forwards it to the command. After the grace period, SIGKILL to that init makes the
 * kernel kill every process in the pid namespace: no orphan can escape, daemonised or not.
 * Only if that did not work does the whole process group get SIGKILL.
 *
 * Waiting is by polling (`wait`, and `stop` internally) with the injected clock: exit of a
 * process that is not our child cannot be observed any other way without pidfds.
 */
import { access, readdir, writeFile } from 'node:fs/promises'
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { Cgroups } from './cgroup-fs.js'
import {
  CorruptStateError,
  InvalidTaskError,
  NetnsNotFoundError,
  TaskExistsError,
  TaskNotFoundError,
  TaskNotRunningError,
  TaskStartError,
  TaskStopError,
} from './errors.js'
import { logFiles, readLog, removeLog, rotateLog } from './logs.js'
import { childrenOf, isAlive, readStat } from './procfs.js'
import { defaultHostname, execArgv, supervisorArgv, taskEnv, taskIdProblem, taskProblems } from './shim.js'
import { killQuietly, resolveTools, runToCompletion, spawnDetached } from './spawn.js'
import { OutputStamper } from './stamper.js'
import {
  createRecord,
  ensureDir,
  parseExitFile,
  parseRecord,
  readIfExists,
  removeFiles,
  replaceRecord,
  type TaskPaths,
  type TaskRecord,
  taskIdOfFile,
  taskPaths,
  writeExitFile,
} from './state.js'
import { findInit, gone, kill, liveInit } from './task-process.js'
import type {
  CgroupInfo,
  ExecOptions,
  ExecResult,
  LogsOptions,
  ReadLogOptions,
  Runtime,
  RuntimeComponents,
  RuntimeInit,
  StartOptions,
  StopOptions,
  TaskInfo,
  TaskSpec,
  TaskStatus,
} from './types.js'

const DEFAULT_START_TIMEOUT_MS = 10_000
const DEFAULT_STOP_TIMEOUT_MS = 10_000
/** After SIGKILL to the init, how long before the whole process group gets SIGKILL too. */
const KILL_GRACE_MS = 2_000
/** Exit status recorded when the runtime had to SIGKILL the supervisor itself. */
const SIGKILL_STATUS = 128 + 9

/** Where the kernel names network namespaces that `ip netns` manages. */
export const NETNS_DIR = '/run/netns'

export class LinuxRuntime implements Runtime {
  private readonly log: Logger
  private readonly clock: Clock
  private readonly stateDir: string
  private readonly logDir: string
  private readonly pollMs: number
  private readonly stamper: OutputStamper

  constructor(components: RuntimeComponents, init: RuntimeInit) {
    this.log = components.logger
    this.clock = components.clock
    this.stateDir = init.stateDir
    this.logDir = init.logDir
    this.pollMs = init.pollIntervalMs ?? 50
    this.stamper = new OutputStamper(components, (id) => logFiles(this.paths(id).log))
    this.limits = new Cgroups(init.cgroups, this.log, (argv, o) =>
      runToCompletion({ argv, env: { PATH: process.env.PATH ?? '' }, stdio: 'pipe', ...o }),
    )
  }

  /** Cgroups for tasks with limits (refused where there are none). */
  private readonly limits: Cgroups

  cgroups(options?: AbortOptions): Promise<CgroupInfo> {
    return this.limits.info(options)
  }

  releaseCgroups(): Promise<void> {
    return this.limits.releaseParent()
  }

  async cpuUsage(taskId: string, options?: AbortOptions): Promise<number | undefined> {
    options?.signal?.throwIfAborted()
    const cg = (await this.readRecord(taskId))?.cgroup
    return cg === undefined ? undefined : this.limits.cpuUsageUs(cg)
  }

  async start(task: TaskSpec, options?: StartOptions): Promise<TaskStatus> {
    options?.signal?.throwIfAborted()
    const problems = taskProblems(task)
    if (problems.length > 0) throw new InvalidTaskError(problems.join('; '))
    try {
      await access(`${NETNS_DIR}/${task.netns}`)
    } catch (err) {
      throw new NetnsNotFoundError(task.netns, { cause: err })
    }
    await ensureDir(this.stateDir)
    await ensureDir(this.logDir)
    const hostname = task.hostname ?? defaultHostname(task.id)
    const paths = this.paths(task.id)
    const cgroup = await this.limits.forTask(task.id, task.limits, options)
    const base: TaskRecord = {
      version: 1,
      id: task.id,
      netns: task.netns,
      argv: [...task.argv],
      env: { ...task.env },
      hostname,
      createdAt: this.clock.now(),
      ...(cgroup !== undefined ? { cgroup: cgroup.record } : {}),
    }
    try {
      await createRecord(paths.record, base)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TaskExistsError(task.id, { cause: err })
      if (cgroup !== undefined) await this.limits.remove(cgroup.record)
      throw err
    }
    await removeFiles(paths.exit)
    if (task.resolvConf !== undefined) await writeFile(paths.resolv, task.resolvConf, { mode: 0o644 })

    let pid: number
    try {
      const argv = supervisorArgv(resolveTools(), {
        netns: task.netns,
        hostname,
        resolvConf: task.resolvConf !== undefined ? paths.resolv : undefined,
        argv: task.argv,
        exitFile: paths.exit,
        cgroupProcs: cgroup?.procs,
      })
      pid = await spawnDetached({ argv, env: taskEnv(task.id, hostname, task.env), logFile: paths.log })
    } catch (err) {
      await removeFiles(paths.record)
      throw new TaskStartError(task.id, (err as Error).message, { cause: err })
    }
    const stat = await readStat(pid)
    let record: TaskRecord = { ...base, pid, ...(stat !== undefined && { startTime: stat.startTime }) }
    await replaceRecord(paths.record, record)
    this.log.info('task started', { task: task.id, netns: task.netns, pid, argv: task.argv })

    // Resolve once the command runs (init has forked it, so the hostname is set), or the
    // supervisor is already gone (the task exited, or e.g. the netns vanished meanwhile).
    const deadline = this.clock.now() + (options?.timeoutMs ?? DEFAULT_START_TIMEOUT_MS)
    try {
      for (;;) {
        const init = await findInit(pid)
        if (init !== undefined && (await childrenOf(init.pid)).length > 0) {
          record = { ...record, initPid: init.pid, initStartTime: init.startTime }
          await replaceRecord(paths.record, record)
          break
        }
        if (!(await isAlive(pid, record.startTime))) break
        if (this.clock.now() >= deadline)
          throw new TaskStartError(task.id, 'timed out waiting for the command')
        await this.clock.sleep(this.pollMs, options)
      }
    } catch (err) {
      this.log.warn('task start failed; killing it', { task: task.id, error: (err as Error).message })
      await kill(record, 'SIGKILL')
      if (await this.gone(record, KILL_GRACE_MS)) await writeExitFile(paths.exit, SIGKILL_STATUS)
      throw err
    }
    return this.statusOf(record, paths)
  }

  async status(taskId: string, options?: AbortOptions): Promise<TaskStatus> {
    options?.signal?.throwIfAborted()
    const record = await this.readRecord(taskId)
    if (record === undefined) return { state: 'unknown' }
    return this.statusOf(record, this.paths(taskId))
  }

  async wait(taskId: string, options?: AbortOptions): Promise<TaskStatus> {
    for (;;) {
      const status = await this.status(taskId, options)
      if (status.state === 'unknown') throw new TaskNotFoundError(taskId)
      if (status.state === 'exited') return status
      await this.clock.sleep(this.pollMs, options)
    }
  }

  async stop(taskId: string, options?: StopOptions): Promise<TaskStatus> {
    options?.signal?.throwIfAborted()
    const record = await this.readRecord(taskId)
    if (record === undefined) return { state: 'unknown' }
    const paths = this.paths(taskId)
    const before = await this.statusOf(record, paths)
    if (before.state !== 'running' || record.pid === undefined) return before

    const timeoutMs = options?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    this.log.info('stopping task', { task: taskId, pid: record.pid, timeoutMs })
    await kill(record, 'SIGTERM')
    if (!(await this.gone(record, timeoutMs, options))) {
      this.log.warn('task ignored SIGTERM; killing it', { task: taskId, timeoutMs })
      await kill(record, 'SIGKILL')
      if (!(await this.gone(record, KILL_GRACE_MS, options))) {
        killQuietly(-record.pid, 'SIGKILL')
        if (!(await this.gone(record, KILL_GRACE_MS, options)))
          throw new TaskStopError(taskId, `supervisor ${record.pid} survived SIGKILL`)
      }
      // unshare (util-linux 2.38) exits 1 instead of re-raising when its child (the init)
      // dies of SIGKILL, and a supervisor killed with its group writes nothing: record what
      // happened, like Docker's 137 after the stop grace period
      await writeExitFile(paths.exit, SIGKILL_STATUS)
    }
    const after = await this.statusOf(record, paths)
    this.log.info('task stopped', { task: taskId, exitCode: after.exitCode })
    return after
  }

  async remove(taskId: string, options?: StopOptions): Promise<void> {
    const paths = this.paths(taskId)
    try {
      await this.stop(taskId, options)
    } catch (err) {
      if (!(err instanceof CorruptStateError)) throw err
      this.log.warn('removing a corrupt task record without stopping', { task: taskId, error: err.message })
    }
    const cgroup = (await this.readRecord(taskId).catch(() => undefined))?.cgroup
    if (cgroup !== undefined) await this.limits.remove(cgroup)
    await removeFiles(paths.record, paths.exit, paths.resolv)
    await removeLog(logFiles(paths.log))
    this.stamper.forget(taskId)
    this.log.info('task removed', { task: taskId })
  }

  async list(options?: AbortOptions): Promise<TaskInfo[]> {
    options?.signal?.throwIfAborted()
    let names: string[]
    try {
      names = await readdir(this.stateDir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const ids = names
      .map(taskIdOfFile)
      .filter((id): id is string => id !== undefined && taskIdProblem(id) === undefined)
      .sort()
    const infos: TaskInfo[] = []
    for (const id of ids) {
      options?.signal?.throwIfAborted()
      let record: TaskRecord | undefined
      try {
        record = await this.readRecord(id)
      } catch (err) {
        this.log.warn('skipping a corrupt task record', { task: id, error: (err as Error).message })
        continue
      }
      if (record === undefined) continue // removed meanwhile
      const status = await this.statusOf(record, this.paths(id))
      infos.push({
        id,
        netns: record.netns,
        hostname: record.hostname,
        createdAt: record.createdAt,
        ...status,
      })
    }
    return infos
  }

  async logs(taskId: string, options?: LogsOptions): Promise<string> {
    options?.signal?.throwIfAborted()
    const paths = this.paths(taskId)
    const { text, end } = await readLog(logFiles(paths.log), {
      maxBytes: Number.MAX_SAFE_INTEGER,
      ...(options?.tail !== undefined ? { tail: options.tail } : {}),
    })
    if (end === 0 && (await readIfExists(paths.record)) === undefined) throw new TaskNotFoundError(taskId)
    return text
  }

  async readLog(taskId: string, options?: ReadLogOptions) {
    options?.signal?.throwIfAborted()
    await this.stamper.stamp(taskId) // what is read has a time
    return readLog(logFiles(this.paths(taskId).log), options)
  }

  async stampOutput(options: AbortOptions): Promise<void> {
    await ensureDir(this.logDir)
    await this.stamper.watch(this.logDir, options)
  }

  async rotateLog(taskId: string, maxBytes: number, options?: AbortOptions): Promise<boolean> {
    options?.signal?.throwIfAborted()
    return rotateLog(logFiles(this.paths(taskId).log), maxBytes)
  }

  async exec(taskId: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    options?.signal?.throwIfAborted()
    if (argv.length === 0 || argv.some((a) => a.includes('\0')))
      throw new InvalidTaskError('exec argv must be non-empty and free of NUL bytes')
    const record = await this.readRecord(taskId)
    if (record === undefined) throw new TaskNotFoundError(taskId)
    const status = await this.statusOf(record, this.paths(taskId))
    if (status.state !== 'running' || record.pid === undefined)
      throw new TaskNotRunningError(taskId, status.state)
    const init = await liveInit(record)
    if (init === undefined) throw new TaskNotRunningError(taskId, 'starting')
    const stdio = options?.stdio ?? 'pipe'
    this.log.debug('exec in task', { task: taskId, argv, stdio })
    return runToCompletion({
      argv: execArgv(resolveTools(), init, argv),
      env: taskEnv(taskId, record.hostname, { ...record.env, ...options?.env }),
      stdio,
      input: options?.input,
      ...(options?.signal !== undefined && { signal: options.signal }),
    })
  }

  private paths(taskId: string): TaskPaths {
    const problem = taskIdProblem(taskId)
    if (problem !== undefined) throw new InvalidTaskError(problem)
    return taskPaths(this.stateDir, this.logDir, taskId)
  }

  private async readRecord(taskId: string): Promise<TaskRecord | undefined> {
    const path = this.paths(taskId).record
    const text = await readIfExists(path)
    return text === undefined ? undefined : parseRecord(text, path)
  }

  private async statusOf(record: TaskRecord, paths: TaskPaths): Promise<TaskStatus> {
    const exited = async (): Promise<number | undefined> =>
      parseExitFile((await readIfExists(paths.exit)) ?? '')
    const code = await exited()
    if (code !== undefined) return { state: 'exited', exitCode: code, ...(await this.oom(record)) }
    if (record.pid === undefined) return { state: 'unknown' }
    if (await isAlive(record.pid, record.startTime)) {
      const init = await liveInit(record)
      return { state: 'running', ...(init !== undefined && { pid: init }) }
    }
    // the supervisor writes the file just before it exits: look again
    const late = await exited()
    return late !== undefined
      ? { state: 'exited', exitCode: late, ...(await this.oom(record)) }
      : { state: 'exited', ...(await this.oom(record)) }
  }

  private async oom(record: TaskRecord): Promise<{ oomKilled?: true }> {
    return record.cgroup !== undefined && (await this.limits.oomKilled(record.cgroup))
      ? { oomKilled: true }
      : {}
  }

  /** Polls until the supervisor is gone (true) or `ms` elapsed (false). */
  private gone(record: TaskRecord, ms: number, options?: AbortOptions): Promise<boolean> {
    return gone(this.clock, this.pollMs, record, ms, options)
  }
}
