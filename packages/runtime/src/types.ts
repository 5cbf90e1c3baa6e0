import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import type { CgroupMode, TaskLimits } from './cgroups.js'

/** What the runtime needs from the node agent. */
export interface RuntimeComponents {
  readonly logger: Logger
  /** Drives every poll (start, wait, stop), so tests can use a fake clock. */
  readonly clock: Clock
}

/** Where a node keeps its tasks. Both directories are created (0700) when missing. */
export interface RuntimeInit {
  /** One `<id>.json` record and one `<id>.exit` file per task, e.g. /var/lib/swarmnet/tasks. */
  readonly stateDir: string
  /** One `<id>.log` per task (stdout + stderr, appended), e.g. /var/log/swarmnet/tasks. */
  readonly logDir: string
  /** Poll interval of start/wait/stop, ms (default 50). */
  readonly pollIntervalMs?: number
  /**
   * Tasks with limits get a cgroup under this node's parent (`cgroupParent(hostname)`);
   * hierarchies the host has not mounted are mounted under `mountDir`. Absent: limits refused.
   */
  readonly cgroups?: { readonly mountDir: string; readonly parent: string }
}

/** How this node enforces limits, and where its task cgroups live (`info`). */
export interface CgroupInfo {
  readonly mode: CgroupMode
  /** Per hierarchy (`memory`, `cpu`, `cpuacct`; v2 `unified`): the node's parent directory. */
  readonly paths: Readonly<Record<string, string>>
  /** Why there are no limits here (mode `none`). */
  readonly reason?: string
}

/** A task to run: a process in an existing network namespace (`ip netns` name). */
export interface TaskSpec {
  /** Names the state and log files: `[A-Za-z0-9][A-Za-z0-9_.-]{0,127}`. */
  readonly id: string
  /** Name under /run/netns, e.g. `sn-ep-<key>`; must exist. */
  readonly netns: string
  readonly argv: readonly string[]
  /** Added to PATH (default) and HOSTNAME; SWARMNET_TASK_ID is always set to `id`. */
  readonly env: Readonly<Record<string, string>>
  /** Default: the first 12 characters of `id`. */
  readonly hostname?: string
  /** Content of the task's /etc/resolv.conf (the host's when absent), e.g. its DNS resolver. */
  readonly resolvConf?: string
  /** Enforced by the kernel in a cgroup of the task's own; refused where there are no cgroups. */
  readonly limits?: TaskLimits
}

export type TaskState = 'running' | 'exited' | 'unknown'

export interface TaskStatus {
  /**
   * `running`: the supervisor is alive (same pid and start time as recorded).
   * `exited`: it is gone; `exitCode` is set when the status was recorded.
   * `unknown`: no record, or a record without a pid (the agent died while spawning).
   */
  readonly state: TaskState
  /** The task's init (pid 1 of its pid namespace, in the netns) as a host pid, while running. */
  readonly pid?: number
  /** 0–255; 128 + N when killed by signal N (137 after SIGKILL). */
  readonly exitCode?: number
  /** Exited, and the kernel's OOM killer killed a process of it (it hit its memory limit). */
  readonly oomKilled?: boolean
}

/** One entry of {@link Runtime.list}. */
export interface TaskInfo extends TaskStatus {
  readonly id: string
  readonly netns: string
  readonly hostname: string
  /** When `start` was called (ms since the epoch, injected clock). */
  readonly createdAt: number
}

export interface StartOptions extends AbortOptions {
  /** How long the task may take to reach its command (default 10 000 ms). */
  readonly timeoutMs?: number
}

export interface StopOptions extends AbortOptions {
  /** Grace between SIGTERM and SIGKILL (default 10 000 ms, Docker's stop grace period). */
  readonly timeoutMs?: number
}

export interface ReadLogOptions extends AbortOptions {
  /** Only what came after this position (an earlier `end`). */
  readonly from?: number
  /** Only the last N lines. */
  readonly tail?: number
  /** At most this many bytes, the newest (default 1 MiB). */
  readonly maxBytes?: number
}

export interface LogsOptions extends AbortOptions {
  /** Only the last N lines. */
  readonly tail?: number
}

export interface ExecOptions extends AbortOptions {
  /** `inherit`: the caller's stdin/stdout/stderr; `pipe` (default): captured, stdin empty. */
  readonly stdio?: 'inherit' | 'pipe'
  /** Added to the task's env (which exec inherits, like `docker exec`). */
  readonly env?: Readonly<Record<string, string>>
  /** stdin when `stdio` is `pipe`. */
  readonly input?: string
}

export interface ExecResult {
  /** 128 + N when killed by signal N. */
  readonly exitCode: number
  /** Captured with `stdio: 'pipe'`, empty with `inherit`. */
  readonly stdout: string
  readonly stderr: string
}

/**
 * The task runtime of one node. All state is on disk, so any instance over the same
 * stateDir (e.g. after an agent restart) sees and controls the same tasks.
 */
export interface Runtime {
  /** Starts a task; resolves once its command runs (or already exited). */
  start(task: TaskSpec, options?: StartOptions): Promise<TaskStatus>
  /** Current state from /proc and the exit file; `unknown` for ids without state. */
  status(taskId: string, options?: AbortOptions): Promise<TaskStatus>
  /**
   * Resolves with the final status once the task has exited (polls with the clock). Bound it
   * with `signal` (e.g. `AbortSignal.timeout(ms)`).
   */
  wait(taskId: string, options?: AbortOptions): Promise<TaskStatus>
  /** SIGTERM to the task, SIGKILL to its namespace after the timeout; idempotent. */
  stop(taskId: string, options?: StopOptions): Promise<TaskStatus>
  /** Stops the task and deletes its state and log; idempotent. */
  remove(taskId: string, options?: StopOptions): Promise<void>
  /** Every task with state on this node, sorted by id (adopt these after a restart). */
  list(options?: AbortOptions): Promise<TaskInfo[]>
  /** The task's stdout + stderr (interleaved as written), the rotated part first. */
  logs(taskId: string, options?: LogsOptions): Promise<string>
  /**
   * The kept output from a position (`from`, an earlier `end`) or its last lines, at most
   * `maxBytes` (default 1 MiB, the newest), and the position of its end: a follower reads on
   * from there, across rotations.
   */
  readLog(
    taskId: string,
    options?: ReadLogOptions,
  ): Promise<{ text: string; end: number; stamps: ReadonlyArray<readonly [number, number]> }>
  /**
   * Records when each task's output was written (watches the log directory) until `signal`
   * aborts: `readLog`'s `stamps` — [position, ms]: the output had reached the position by then.
   */
  stampOutput(options: AbortOptions): Promise<void>
  /** Rotates the task's output once it is over `maxBytes` (one older file is kept); true if it did. */
  rotateLog(taskId: string, maxBytes: number, options?: AbortOptions): Promise<boolean>
  /** How this node enforces limits (mounts what it needs the first time). */
  cgroups(options?: AbortOptions): Promise<CgroupInfo>
  /** Removes this node's parent cgroups (when it leaves, after its tasks are removed). */
  releaseCgroups(): Promise<void>
  /** CPU time a task with limits has used so far, µs (its cgroup's counter); undefined without. */
  cpuUsage(taskId: string, options?: AbortOptions): Promise<number | undefined>
  /** Runs argv in all namespaces of the running task; resolves with its exit code. */
  exec(taskId: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>
}
