import { validatePlacement, validateResources } from './constraints.js'
import {
  InvalidReplicasError,
  InvalidRestartPolicyError,
  InvalidServiceNameError,
  InvalidServiceSpecError,
  NotReplicatedError,
  ServiceExistsError,
} from './errors.js'
import { validatePorts } from './ports.js'

import type {
  EndpointMode,
  HealthConfig,
  OrchestratorOptions,
  Placement,
  Resources,
  RestartCondition,
  RestartPolicy,
  Service,
  ServiceMode,
  ServiceSpecInput,
  ValidatedService,
} from './types.js'
import { validateUpdateConfig } from './update-config.js'

/** A DNS label (RFC 1123): the name is resolvable inside tasks. */
const NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const CONDITIONS: readonly RestartCondition[] = ['any', 'on-failure', 'none']
/** One day: longer restart delays are almost certainly a unit mistake (seconds given as ms × 1000). */
const MAX_DELAY_MS = 86_400_000

/** Swarmkit's service name rule: a DNS label (letters, digits, inner "-"), at most 63 characters. */
export function validateServiceName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidServiceNameError('service name must not be empty')
  if (name.length > 63)
    throw new InvalidServiceNameError(`service name '${name}' is longer than 63 characters`)
  if (!NAME.test(name)) {
    throw new InvalidServiceNameError(
      `invalid service name '${name}': it must be a valid DNS label (letters, digits and "-", not at either end)`,
    )
  }
  return name
}

/** An integer in [0, maxReplicas]. */
export function validateReplicas(replicas: unknown, maxReplicas: number): number {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > maxReplicas) {
    throw new InvalidReplicasError(
      `invalid replicas ${String(replicas)}: must be an integer from 0 to ${maxReplicas}`,
    )
  }
  return replicas
}

function validateMode(mode: unknown, maxReplicas: number): ServiceMode {
  if (mode === undefined) return { replicated: { replicas: 1 } }
  if (typeof mode === 'object' && mode !== null) {
    const keys = Object.keys(mode)
    if (keys.length === 1 && keys[0] === 'global') return { global: {} }
    if (keys.length === 1 && keys[0] === 'replicated') {
      const replicated = (mode as { replicated: unknown }).replicated
      const replicas =
        typeof replicated === 'object' && replicated !== null
          ? ((replicated as { replicas?: unknown }).replicas ?? 1)
          : undefined
      return { replicated: { replicas: validateReplicas(replicas, maxReplicas) } }
    }
  }
  throw new InvalidServiceSpecError('mode must be { replicated: { replicas } } or { global: {} }')
}

function validateArgv(argv: unknown): string[] {
  if (!Array.isArray(argv) || argv.length === 0) throw new InvalidServiceSpecError('argv must not be empty')
  for (const arg of argv) {
    if (typeof arg !== 'string' || arg.includes('\0')) {
      throw new InvalidServiceSpecError('argv must be strings without NUL characters')
    }
  }
  if (argv[0] === '') throw new InvalidServiceSpecError('argv[0] (the command) must not be empty')
  return [...(argv as string[])]
}

function validateEnv(env: unknown): Record<string, string> {
  if (env === undefined) return {}
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw new InvalidServiceSpecError('env must be an object of strings')
  }
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_KEY.test(key)) throw new InvalidServiceSpecError(`invalid environment variable name '${key}'`)
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new InvalidServiceSpecError(
        `environment variable '${key}' must be a string without NUL characters`,
      )
    }
    out[key] = value
  }
  return out
}

function validateNetworks(networks: unknown): string[] {
  if (networks === undefined) return []
  if (!Array.isArray(networks)) throw new InvalidServiceSpecError('networks must be a list of network ids')
  const seen = new Set<string>()
  for (const id of networks) {
    if (typeof id !== 'string' || id === '')
      throw new InvalidServiceSpecError('network ids must be non-empty strings')
    if (seen.has(id)) throw new InvalidServiceSpecError(`network '${id}' is given twice`)
    seen.add(id)
  }
  return [...seen]
}

function validateEndpointMode(mode: unknown): EndpointMode {
  if (mode === undefined) return 'vip'
  if (mode === 'vip' || mode === 'dnsrr') return mode
  throw new InvalidServiceSpecError(`invalid endpoint mode '${String(mode)}': must be vip or dnsrr`)
}

function validateRestart(restart: unknown, defaultDelayMs: number): RestartPolicy {
  if (restart !== undefined && (typeof restart !== 'object' || restart === null)) {
    throw new InvalidRestartPolicyError('restart must be an object')
  }
  const r = (restart ?? {}) as Partial<Record<keyof RestartPolicy, unknown>>
  const condition = r.condition ?? 'any'
  if (!CONDITIONS.includes(condition as RestartCondition)) {
    throw new InvalidRestartPolicyError(
      `invalid restart condition '${String(condition)}': must be one of none, on-failure, any`,
    )
  }
  const delayMs = r.delayMs ?? defaultDelayMs
  if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new InvalidRestartPolicyError(
      `invalid restart delay ${String(delayMs)}: must be 0 to ${MAX_DELAY_MS} ms`,
    )
  }
  const maxAttempts = r.maxAttempts ?? 0
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new InvalidRestartPolicyError(
      `invalid restart max attempts ${String(maxAttempts)}: must be an integer ≥ 0 (0 = unlimited)`,
    )
  }
  const windowMs = r.windowMs ?? 0
  if (
    typeof windowMs !== 'number' ||
    !Number.isInteger(windowMs) ||
    windowMs < 0 ||
    windowMs > MAX_DELAY_MS
  ) {
    throw new InvalidRestartPolicyError(
      `invalid restart window ${String(windowMs)}: must be 0 to ${MAX_DELAY_MS} ms`,
    )
  }
  return {
    condition: condition as RestartCondition,
    delayMs,
    maxAttempts,
    ...(windowMs > 0 ? { windowMs } : {}),
  }
}

const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 }

/** `--health-*`: a command, and Docker's defaults (30 s interval and timeout, 3 retries). */
export function validateHealth(input: unknown): HealthConfig | undefined {
  if (input === undefined) return undefined
  if (typeof input !== 'object' || input === null)
    throw new InvalidServiceSpecError('health must be an object')
  const h = { ...HEALTH_DEFAULTS, ...(input as Partial<HealthConfig>) }
  if (typeof h.cmd !== 'string' || h.cmd.trim() === '' || h.cmd.includes('\0'))
    throw new InvalidServiceSpecError('the health command must not be empty')
  for (const [k, min] of [
    ['intervalMs', 1],
    ['timeoutMs', 1],
    ['retries', 1],
    ['startPeriodMs', 0],
  ] as const) {
    const v = h[k]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_DELAY_MS)
      throw new InvalidServiceSpecError(
        `invalid health ${k.replace(/Ms$/, '')} ${String(v)}: must be at least ${min}`,
      )
  }
  return {
    cmd: h.cmd,
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    retries: h.retries,
    startPeriodMs: h.startPeriodMs,
  }
}

/**
 * Checks user input for `service create` and fills in swarmkit's defaults (1 replica, restart
 * `any` after 5 s, unlimited attempts). Throws a named error on the first problem; with
 * `existing`, also {@link ServiceExistsError} when the name is taken (by a service other than
 * `selfId`, for updates).
 */
export function validateService(
  input: ServiceSpecInput,
  options: Pick<OrchestratorOptions, 'defaultRestartDelayMs' | 'maxReplicas'>,
  existing: readonly Service[] = [],
  selfId?: string,
): ValidatedService {
  if (typeof input !== 'object' || input === null)
    throw new InvalidServiceSpecError('service spec must be an object')
  const name = validateServiceName(input.name)
  const mode = validateMode(input.mode, options.maxReplicas)
  const spec = {
    argv: validateArgv(input.argv),
    env: validateEnv(input.env),
    networks: validateNetworks(input.networks),
    endpointMode: validateEndpointMode(input.endpointMode),
    ...placementFields(input.placement, input.resources),
  }
  const ports = validatePorts(input.ports, spec.endpointMode)
  const health = validateHealth(input.health)
  const restart = validateRestart(input.restart, options.defaultRestartDelayMs)
  const update = validateUpdateConfig(input.update, 'update')
  const rollback = validateUpdateConfig(input.rollback, 'rollback')
  const clash = existing.find((s) => s.name === name && s.id !== selfId)
  if (clash) throw new ServiceExistsError(`service '${name}' already exists (${clash.id})`)
  const withPorts = ports.length > 0 ? { ...spec, ports } : spec
  return { name, mode, spec: health ? { ...withPorts, health } : withPorts, restart, update, rollback }
}

function placementFields(
  placement: unknown,
  resources: unknown,
): { placement?: Placement; resources?: Resources } {
  const p = validatePlacement(placement)
  const r = validateResources(resources)
  return { ...(p ? { placement: p } : {}), ...(r ? { resources: r } : {}) }
}

/**
 * A change of where a service's tasks may go and what they may use (`service update
 * --constraint-add … --limit-memory …`): the service with the new placement and resources,
 * `version` + 1. Tasks whose node no longer fits are moved by the next reconcile (misfits).
 */
export function replacePlacement(
  service: Service,
  change: { placement?: Placement | undefined; resources?: Resources | undefined },
  now: number,
): Service {
  const { placement: _p, resources: _r, ...rest } = service.spec
  return {
    ...service,
    spec: { ...rest, ...placementFields(change.placement, change.resources) },
    version: service.version + 1,
    updatedAt: now,
  }
}

/**
 * `service scale`: the service with its replica count set, `version` + 1 and `updatedAt` = `now`.
 * Refused for global services, as Docker does.
 */
export function scaleService(service: Service, replicas: number, now: number, maxReplicas: number): Service {
  if (!('replicated' in service.mode)) {
    throw new NotReplicatedError(
      `scale can only be used with replicated mode (service '${service.name}' is global)`,
    )
  }
  const n = validateReplicas(replicas, maxReplicas)
  return { ...service, mode: { replicated: { replicas: n } }, version: service.version + 1, updatedAt: now }
}
