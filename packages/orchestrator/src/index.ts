/**
 * @packageDocumentation
 * The manager's brain for services (swarmkit's orchestrators, restart supervisor, task reaper and
 * scheduler): pure, deterministic functions over plain JSON data. No I/O, no clock (`now` is
 * passed in), no randomness (`newId` is passed in). The manager persists services, tasks and nodes,
 * and on every change (and every few seconds) calls {@link Orchestrator.reconcile} then
 * {@link Orchestrator.schedule} and writes their results in one store batch; agent reports go
 * through {@link Orchestrator.applyStatusReport}, which never moves a task backwards.
 *
 * @example
 * ```ts
 * const orch = createOrchestrator()
 * const spec = orch.validateService({ name: 'web', argv: ['nginx'], mode: { replicated: { replicas: 3 } } })
 * const service = { id: 's1', ...spec, version: 1, createdAt: now, updatedAt: now }
 * const { create } = orch.reconcile({ services: [service], tasks: [], nodes, now, newId })
 * // create: 3 tasks, slots 1..3, state 'new', nodeId ''
 * const { assignments, update } = orch.schedule({ services: [service], tasks: create, nodes, now })
 * // assignments: [{ taskId, nodeId: 'n1' }, { taskId, nodeId: 'n2' }, { taskId, nodeId: 'n3' }]
 * orch.serviceReplicas(service, tasks, nodes) // '0/3' until the agents report running
 * ```
 */
import { reconcile } from './reconcile.js'
import { schedule } from './schedule.js'
import { applyStatusReport } from './states.js'
import type {
  Node,
  OrchestratorInit,
  OrchestratorOptions,
  ReconcileInput,
  ReconcileResult,
  ScheduleInput,
  ScheduleResult,
  Service,
  ServiceSpecInput,
  ServiceView,
  StatusReport,
  Task,
  TaskView,
  ValidatedService,
} from './types.js'
import { rollbackService, type ServicePatch, updateService } from './update-config.js'
import { advanceUpdates, type UpdaterInput, type UpdaterResult } from './updater.js'
import { scaleService, validateService } from './validate.js'
import { serviceReplicas, serviceTasksView, serviceView, taskView } from './views.js'

export interface Orchestrator {
  /** The settings in force (init with defaults applied). */
  readonly options: Readonly<OrchestratorOptions>
  /** What to create, update and delete so every service converges; see {@link reconcile}. */
  reconcile(input: ReconcileInput): ReconcileResult
  /** Places unassigned tasks on nodes with the spread strategy; see {@link schedule}. */
  schedule(input: ScheduleInput): ScheduleResult
  /** The task after an agent report; the same object when the report is stale or backwards. */
  applyStatusReport(task: Task, report: StatusReport, now: number): Task
  /** Validates `service create` input and applies defaults; throws named errors. */
  validateService(input: ServiceSpecInput, existing?: readonly Service[], selfId?: string): ValidatedService
  /** `service scale`: a new version of the service with `replicas`; refused for global services. */
  scaleService(service: Service, replicas: number, now: number): Service
  /** `service update`: the patched service, its old spec kept for rollback; see {@link updateService}. */
  updateService(service: Service, patch: ServicePatch, now: number): Service
  /** `service rollback`: the previous spec back; see {@link rollbackService}. */
  rollbackService(service: Service, now: number): Service
  /** One step of every rolling update in progress; see {@link advanceUpdates}. */
  advanceUpdates(input: UpdaterInput): UpdaterResult
  /** `running/desired`, e.g. `2/3`. */
  serviceReplicas(service: Service, tasks: readonly Task[], nodes: readonly Node[]): string
  /** A `service ls` row. */
  serviceView(service: Service, tasks: readonly Task[], nodes: readonly Node[]): ServiceView
  /** A `service ps` row for one task. */
  taskView(task: Task, service: Service, nodes: readonly Node[], now: number): TaskView
  /** All `service ps` rows of a service, sorted, older tasks of a slot as ` \_ ` rows. */
  serviceTasksView(service: Service, tasks: readonly Task[], nodes: readonly Node[], now: number): TaskView[]
}

export function createOrchestrator(init: OrchestratorInit = {}): Orchestrator {
  const options: OrchestratorOptions = {
    historyLimit: init.historyLimit ?? 5,
    defaultRestartDelayMs: init.defaultRestartDelayMs ?? 5000,
    maxReplicas: init.maxReplicas ?? 10_000,
  }
  for (const [key, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`${key} must be an integer ≥ 0, got ${value}`)
  }
  Object.freeze(options)
  return {
    options,
    reconcile: (input) => reconcile(input, options),
    schedule,
    applyStatusReport,
    validateService: (input, existing, selfId) => validateService(input, options, existing, selfId),
    scaleService: (service, replicas, now) => scaleService(service, replicas, now, options.maxReplicas),
    updateService: (service, patch, now) => updateService(service, patch, now, options),
    rollbackService: (service, now) => rollbackService(service, now),
    advanceUpdates,
    serviceReplicas,
    serviceView,
    taskView,
    serviceTasksView,
  }
}

export {
  type Constraint,
  MIN_MEMORY_LIMIT,
  parseConstraint,
  satisfies,
  spreadLabel,
  validatePlacement,
  validateResources,
} from './constraints.js'
export {
  InvalidReplicasError,
  InvalidRestartPolicyError,
  InvalidServiceNameError,
  InvalidServiceSpecError,
  InvalidUpdateConfigError,
  NoPreviousSpecError,
  NotReplicatedError,
  ServiceExistsError,
} from './errors.js'
export { isEligible, isLost, mustVacate } from './nodes.js'
export { LIMITS_CAPABILITY, type PlacementFilter, type Requirement } from './placement.js'
export { formatPort, hasIngressPorts, MAX_PORTS, portKey, samePorts, validatePorts } from './ports.js'
export { misfits, reconcile } from './reconcile.js'
export {
  DEFAULT_RESTART_WINDOW_MS,
  endedWithFailure,
  MAX_BACKOFF_FACTOR,
  nextStreak,
  type RestartDecision,
  restartDecision,
  restartDelay,
} from './restart.js'
export { schedule } from './schedule.js'
export {
  applyStatusReport,
  canTransition,
  isTaskState,
  isTerminal,
  isUndispatched,
  stateRank,
  TASK_STATES,
} from './states.js'
export { isReady, sameTaskSpec, specOfTask, taskSpecOf } from './task-spec.js'
export type * from './types.js'
export {
  DEFAULT_UPDATE_CONFIG,
  rollbackService,
  type ServicePatch,
  updateService,
  validateUpdateConfig,
} from './update-config.js'
export { advanceUpdates, isRollingOut, type UpdaterInput, type UpdaterResult } from './updater.js'
export {
  replacePlacement,
  scaleService,
  validateReplicas,
  validateService,
  validateServiceName,
} from './validate.js'
export {
  formatTaskError,
  humanDuration,
  prettyState,
  serviceReplicas,
  serviceTasksView,
  serviceView,
  taskView,
} from './views.js'
