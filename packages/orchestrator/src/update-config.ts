/** `service update` and `service rollback` as new versions of a service (the updater rolls them out). */
import { InvalidServiceSpecError, InvalidUpdateConfigError, NoPreviousSpecError } from './errors.js'
import { sameTaskSpec, taskSpecOf } from './task-spec.js'
import type {
  HealthConfig,
  OrchestratorOptions,
  Placement,
  PublishedPort,
  Resources,
  RestartPolicy,
  Service,
  ServiceSpec,
  ServiceSpecInput,
  UpdateConfig,
} from './types.js'
import { validateService } from './validate.js'

/** Docker's defaults: one slot at a time, no delay, stop-first, pause on failure, 5 s monitor. */
export const DEFAULT_UPDATE_CONFIG: Readonly<UpdateConfig> = Object.freeze({
  parallelism: 1,
  delayMs: 0,
  order: 'stop-first',
  failureAction: 'pause',
  monitorMs: 5_000,
  maxFailureRatio: 0,
})

const MAX_MS = 86_400_000
/** The `updateStatus` message of `service rollback`. */
export const MANUAL_ROLLBACK = 'manually requested rollback'

function ms(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_MS)
    throw new InvalidUpdateConfigError(`invalid ${what} ${String(v)}: must be 0 to ${MAX_MS} ms`)
  return v
}

/**
 * An update (or, with `rollback`, a rollback) config with the defaults filled in; throws
 * {@link InvalidUpdateConfigError}. A rollback cannot itself fail over to a rollback.
 */
export function validateUpdateConfig(
  input: Partial<UpdateConfig> | undefined,
  kind: 'update' | 'rollback',
  base: UpdateConfig = DEFAULT_UPDATE_CONFIG,
): UpdateConfig {
  const c = { ...base, ...(input ?? {}) }
  if (!Number.isInteger(c.parallelism) || c.parallelism < 0 || c.parallelism > 1_000_000)
    throw new InvalidUpdateConfigError(
      `invalid ${kind} parallelism ${String(c.parallelism)}: must be an integer ≥ 0 (0 = all at once)`,
    )
  ms(`${kind} delay`, c.delayMs)
  ms(`${kind} monitor`, c.monitorMs)
  if (c.order !== 'stop-first' && c.order !== 'start-first')
    throw new InvalidUpdateConfigError(
      `invalid ${kind} order '${String(c.order)}': stop-first or start-first`,
    )
  const actions = kind === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue']
  if (!actions.includes(c.failureAction))
    throw new InvalidUpdateConfigError(
      `invalid ${kind} failure action '${String(c.failureAction)}': ${actions.join(', ')}`,
    )
  if (typeof c.maxFailureRatio !== 'number' || !(c.maxFailureRatio >= 0 && c.maxFailureRatio <= 1))
    throw new InvalidUpdateConfigError(
      `invalid ${kind} max failure ratio ${String(c.maxFailureRatio)}: must be from 0 to 1`,
    )
  return {
    parallelism: c.parallelism,
    delayMs: c.delayMs,
    order: c.order,
    failureAction: c.failureAction,
    monitorMs: c.monitorMs,
    maxFailureRatio: c.maxFailureRatio,
  }
}

/** What `service update` changes; absent fields stay as they are. */
export interface ServicePatch {
  /** The new command and its arguments (`--args`). */
  argv?: readonly string[]
  envAdd?: Readonly<Record<string, string>>
  envRm?: readonly string[]
  replicas?: number
  /** Replace every task even if nothing else changed. */
  force?: boolean
  restart?: Partial<RestartPolicy>
  /** Fields of the health check to set (a new check needs `cmd`); `null`: no health check. */
  health?: Partial<HealthConfig> | null
  update?: Partial<UpdateConfig>
  rollback?: Partial<UpdateConfig>
  /** Replace the placement or the resources as a whole (`--constraint-add …`, `--limit-*`). */
  placement?: Placement
  resources?: Resources
  /** The whole new list of published ports (the manager applies `--publish-add`/`--publish-rm`). */
  ports?: readonly PublishedPort[]
}

/**
 * `service update`: the service with the patch applied and validated, its former spec kept as
 * `previous` (for `service rollback`), `version` + 1. When what the tasks run changes (or a
 * paused update is resumed), `updateStatus` is `updating`: the updater replaces the tasks.
 */
export function updateService(
  service: Service,
  patch: ServicePatch,
  now: number,
  options: Pick<OrchestratorOptions, 'defaultRestartDelayMs' | 'maxReplicas'>,
): Service {
  if (patch.replicas !== undefined && !('replicated' in service.mode))
    throw new InvalidServiceSpecError(
      `replicas can only be used with replicated mode (service '${service.name}' is global)`,
    )
  const env = { ...service.spec.env, ...(patch.envAdd ?? {}) }
  for (const k of patch.envRm ?? []) if (!(patch.envAdd && k in patch.envAdd)) delete env[k]
  const input: ServiceSpecInput = {
    name: service.name,
    mode: patch.replicas !== undefined ? { replicated: { replicas: patch.replicas } } : service.mode,
    argv: patch.argv ?? service.spec.argv,
    env,
    networks: service.spec.networks,
    endpointMode: service.spec.endpointMode ?? 'vip',
    restart: { ...service.restart, ...(patch.restart ?? {}) },
  }
  const placement = patch.placement ?? service.spec.placement
  const resources = patch.resources ?? service.spec.resources
  if (placement !== undefined) input.placement = placement
  const ports = patch.ports ?? service.spec.ports
  if (ports !== undefined) input.ports = ports
  if (resources !== undefined) input.resources = resources
  const health = patch.health === null ? undefined : { ...service.spec.health, ...(patch.health ?? {}) }
  if (health !== undefined && Object.keys(health).length > 0) {
    if (health.cmd === undefined)
      throw new InvalidServiceSpecError('a health check needs a command (--health-cmd)')
    input.health = { ...health, cmd: health.cmd }
  }
  const v = validateService(input, options)
  const update = validateUpdateConfig(patch.update, 'update', service.update ?? v.update)
  const rollback = validateUpdateConfig(patch.rollback, 'rollback', service.rollback ?? v.rollback)
  const forceUpdate = (service.spec.forceUpdate ?? 0) + (patch.force ? 1 : 0)
  const spec = { ...v.spec, ...(forceUpdate > 0 ? { forceUpdate } : {}) }
  const next: Service = {
    ...service,
    mode: v.mode,
    spec,
    restart: v.restart,
    update,
    rollback,
    previous: previousOf(service),
    version: service.version + 1,
    updatedAt: now,
  }
  const paused = service.updateStatus?.state === 'paused' || service.updateStatus?.state === 'rollback_paused'
  if (!sameTaskSpec(taskSpecOf(service), taskSpecOf(next)) || paused)
    next.updateStatus = { state: 'updating', startedAt: now, message: 'update in progress' }
  return next
}

function previousOf(s: Service): NonNullable<Service['previous']> {
  return {
    mode: s.mode,
    spec: s.spec,
    restart: s.restart,
    ...(s.update ? { update: s.update } : {}),
    ...(s.rollback ? { rollback: s.rollback } : {}),
  }
}

/**
 * `service rollback`, or an update's failure action `rollback` (`reason`): the previous spec
 * back, the current one as `previous`, `updateStatus` `rollback_started`. Throws
 * {@link NoPreviousSpecError} for a service that was never updated.
 */
export function rollbackService(
  service: Service,
  now: number,
  reason = 'manually requested rollback',
): Service {
  const p = service.previous
  if (p === undefined)
    throw new NoPreviousSpecError(`service '${service.name}' has no previous spec to roll back to`)
  const next: Service = {
    ...service,
    mode: p.mode,
    // the networks and ports stay: their addresses and published ports are allocated by the manager
    spec: {
      ...withoutPorts(p.spec),
      networks: service.spec.networks,
      endpointMode: service.spec.endpointMode ?? 'vip',
      ...portsOf(service.spec),
    },
    restart: p.restart,
    previous: previousOf(service),
    updateStatus: { state: 'rollback_started', startedAt: now, message: reason },
    version: service.version + 1,
    updatedAt: now,
  }
  if (p.update) next.update = p.update
  else delete next.update
  if (p.rollback) next.rollback = p.rollback
  else delete next.rollback
  return next
}

function withoutPorts(spec: ServiceSpec): ServiceSpec {
  const { ports: _, ...rest } = spec
  return rest
}

const portsOf = (spec: ServiceSpec): { ports?: PublishedPort[] } =>
  spec.ports !== undefined && spec.ports.length > 0 ? { ports: spec.ports } : {}
