/** Errors of the task runtime. Match on `name` or `code`, never on the message. */
import { SwarmnetError } from '@swarmnet/interface'

/** The task spec (id, netns name, argv, env, hostname) failed validation. */
export class InvalidTaskError extends SwarmnetError {
  static override readonly code = 'ERR_INVALID_TASK'
  constructor(message: string, options?: ErrorOptions) {
    super(message, InvalidTaskError.code, options)
  }
}

/** No state is recorded for this task id on this node. */
export class TaskNotFoundError extends SwarmnetError {
  static override readonly code = 'ERR_TASK_NOT_FOUND'
  readonly taskId: string
  constructor(taskId: string, options?: ErrorOptions) {
    super(`task ${taskId} is not known to this node's runtime`, TaskNotFoundError.code, options)
    this.taskId = taskId
  }
}

/** `start` was called for a task id that already has state (running or exited); `remove` it first. */
export class TaskExistsError extends SwarmnetError {
  static override readonly code = 'ERR_TASK_EXISTS'
  readonly taskId: string
  constructor(taskId: string, options?: ErrorOptions) {
    super(`task ${taskId} already exists on this node`, TaskExistsError.code, options)
    this.taskId = taskId
  }
}

/** The operation needs a running task (e.g. `exec`), and this one is not running. */
export class TaskNotRunningError extends SwarmnetError {
  static override readonly code = 'ERR_TASK_NOT_RUNNING'
  readonly taskId: string
  constructor(taskId: string, state: string, options?: ErrorOptions) {
    super(`task ${taskId} is not running (${state})`, TaskNotRunningError.code, options)
    this.taskId = taskId
  }
}

/** The network namespace the task should run in is not visible under /run/netns. */
export class NetnsNotFoundError extends SwarmnetError {
  static override readonly code = 'ERR_NETNS_NOT_FOUND'
  readonly netns: string
  constructor(netns: string, options?: ErrorOptions) {
    super(`network namespace ${netns} does not exist (not in /run/netns)`, NetnsNotFoundError.code, options)
    this.netns = netns
  }
}

/** The supervisor could not be spawned, or the task did not come up within the start timeout. */
export class TaskStartError extends SwarmnetError {
  static override readonly code = 'ERR_TASK_START'
  readonly taskId: string
  constructor(taskId: string, reason: string, options?: ErrorOptions) {
    super(`task ${taskId} failed to start: ${reason}`, TaskStartError.code, options)
    this.taskId = taskId
  }
}

/** The task's processes were still alive after SIGKILL and the kill grace period. */
export class TaskStopError extends SwarmnetError {
  static override readonly code = 'ERR_TASK_STOP'
  readonly taskId: string
  constructor(taskId: string, reason: string, options?: ErrorOptions) {
    super(`task ${taskId} could not be stopped: ${reason}`, TaskStopError.code, options)
    this.taskId = taskId
  }
}

/** A state file under stateDir is unreadable or not a task record of a known version. */
export class CorruptStateError extends SwarmnetError {
  static override readonly code = 'ERR_CORRUPT_STATE'
  readonly path: string
  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`corrupt task state ${path}: ${reason}`, CorruptStateError.code, options)
    this.path = path
  }
}
