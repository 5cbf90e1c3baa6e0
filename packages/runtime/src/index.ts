/**
 * @packageDocumentation
 * The task runtime of a node: runs each task as a process inside an existing network
 * namespace (`ip netns`, made by the dataplane) and in its own pid, mount and uts
 * namespaces, detached from the agent so an agent restart never kills workloads. State
 * (`<stateDir>/<id>.json`, `<id>.exit`) and logs (`<logDir>/<id>.log`) are files, so a
 * restarted agent adopts its running tasks by creating a runtime over the same stateDir.
 *
 * - Factory: {@link createRuntime}; interface: {@link Runtime}; {@link RuntimeInit} and
 *   {@link RuntimeComponents}.
 * - Values: {@link TaskSpec}, {@link TaskStatus}, {@link TaskInfo}, {@link ExecResult}.
 * - Errors (all extend `SwarmnetError`; match on `code`): {@link InvalidTaskError},
 *   {@link TaskNotFoundError}, {@link TaskExistsError}, {@link TaskNotRunningError},
 *   {@link NetnsNotFoundError}, {@link TaskStartError}, {@link TaskStopError},
 *   {@link CorruptStateError}.
 * - Exit codes: the command's status; 128 + N when killed by signal N; 125 when the
 *   hostname could not be set; 127 when the program was not found.
 * - Waiting: `wait(id)` polls with the injected clock (bound it with an AbortSignal); there
 *   are no events — the agent's reconcile loop polls `list()`/`status()`.
 *
 * Needs root, util-linux (`unshare`, `nsenter`) and iproute2 (`ip`).
 *
 * @example
 * ```ts
 * import { systemClock } from '@swarmnet/interface'
 * import { createRuntime } from '@swarmnet/runtime'
 * const rt = createRuntime({ logger, clock: systemClock },
 *   { stateDir: '/var/lib/swarmnet/tasks', logDir: '/var/log/swarmnet/tasks' })
 * await rt.start({ id: 'web.1.x7f3', netns: 'sn-ep-x7f3', argv: ['swarmnet', 'whoami'], env: {} })
 * const { exitCode, stdout } = await rt.exec('web.1.x7f3', ['ip', 'addr'])
 * await rt.stop('web.1.x7f3', { timeoutMs: 10_000 })
 * ```
 */
import { LinuxRuntime } from './runtime.js'
import type { Runtime, RuntimeComponents, RuntimeInit } from './types.js'

export {
  type CgroupMode,
  type CgroupPlan,
  cgroupParent,
  cpuUsageUs,
  oomKills,
  planCgroups,
  type TaskLimits,
  taskCgroup,
} from './cgroups.js'
export {
  CorruptStateError,
  InvalidTaskError,
  NetnsNotFoundError,
  TaskExistsError,
  TaskNotFoundError,
  TaskNotRunningError,
  TaskStartError,
  TaskStopError,
} from './errors.js'
export type {
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
  TaskState,
  TaskStatus,
} from './types.js'

/** Creates the task runtime of this node (Linux; root). */
export function createRuntime(components: RuntimeComponents, init: RuntimeInit): Runtime {
  return new LinuxRuntime(components, init)
}
