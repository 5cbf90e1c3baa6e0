/**
 * Docker's placement constraints and spread preferences over nodes: `node.hostname==lab-2`,
 * `node.id!=…`, `node.role==manager`, `node.labels.zone==a`; `spread=node.labels.zone`.
 * Values compare case-insensitively, as swarmkit does; a node without the label fails `==`
 * and passes `!=`.
 */
import { InvalidServiceSpecError } from './errors.js'
import type { Node, Placement, Resources, Service } from './types.js'

export interface Constraint {
  /** `node.hostname`, `node.id`, `node.role` or `node.labels.<key>`. */
  readonly key: string
  readonly op: '==' | '!='
  readonly value: string
}

const EXPR = /^\s*([A-Za-z0-9_.-]+)\s*(==|!=)\s*(.*?)\s*$/
const VALUE = /^[A-Za-z0-9:_.*()?+[\]\\^$|/ -]+$/
const LABEL_PREFIX = 'node.labels.'
const LABEL_KEY = /^[A-Za-z0-9_.-]+$/
const ATTRIBUTES = ['node.id', 'node.hostname', 'node.role'] as const

/** Parses one constraint; throws {@link InvalidServiceSpecError} with the reason. */
export function parseConstraint(expr: string): Constraint {
  const m = EXPR.exec(expr)
  if (m === null)
    throw new InvalidServiceSpecError(
      `invalid constraint '${expr}': expected ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE, e.g. node.labels.zone==a`,
    )
  const key = m[1] ?? ''
  const value = m[3] ?? ''
  const lower = key.toLowerCase()
  const label = lower.startsWith(LABEL_PREFIX) ? key.slice(LABEL_PREFIX.length) : undefined
  if (label !== undefined ? !LABEL_KEY.test(label) : !(ATTRIBUTES as readonly string[]).includes(lower))
    throw new InvalidServiceSpecError(
      `invalid constraint '${expr}': unknown attribute '${key}' (node.id, node.hostname, node.role or node.labels.KEY)`,
    )
  if (value === '' || !VALUE.test(value))
    throw new InvalidServiceSpecError(`invalid constraint '${expr}': invalid value '${value}'`)
  if (lower === 'node.role' && !['manager', 'worker'].includes(value.toLowerCase()))
    throw new InvalidServiceSpecError(
      `invalid constraint '${expr}': node.role is manager or worker, not '${value}'`,
    )
  return { key: label !== undefined ? `${LABEL_PREFIX}${label}` : lower, op: m[2] as '==' | '!=', value }
}

function attribute(node: Node, key: string): string | undefined {
  if (key === 'node.id') return node.id
  if (key === 'node.hostname') return node.hostname
  if (key === 'node.role') return node.role ?? 'worker'
  return node.labels?.[key.slice(LABEL_PREFIX.length)]
}

/** True if `node` satisfies every constraint. */
export function satisfies(node: Node, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => {
    const have = attribute(node, c.key)
    const equal = have !== undefined && have.toLowerCase() === c.value.toLowerCase()
    return c.op === '==' ? equal : !equal
  })
}

/** The parsed constraints of a service (stored specs were validated, so they parse). */
export function constraintsOf(service: Service): Constraint[] {
  return (service.spec.placement?.constraints ?? []).map(parseConstraint)
}

/** The label a spread preference names: `node.labels.zone` → `zone`. */
export function spreadLabel(spread: string): string {
  if (!spread.toLowerCase().startsWith(LABEL_PREFIX) || !LABEL_KEY.test(spread.slice(LABEL_PREFIX.length)))
    throw new InvalidServiceSpecError(
      `invalid placement preference 'spread=${spread}': only spread over node.labels.KEY is supported`,
    )
  return spread.slice(LABEL_PREFIX.length)
}

/** Docker's smallest memory limit: a task needs about this much to start at all. */
export const MIN_MEMORY_LIMIT = 6 * 1024 * 1024
const MAX_NANO_CPUS = 1024 * 1e9

function validateAmount(what: string, a: unknown, limit: boolean): void {
  if (a === undefined) return
  if (typeof a !== 'object' || a === null) throw new InvalidServiceSpecError(`${what} must be an object`)
  const { nanoCpus, memoryBytes } = a as Record<string, unknown>
  if (nanoCpus !== undefined) {
    if (
      typeof nanoCpus !== 'number' ||
      !Number.isInteger(nanoCpus) ||
      nanoCpus <= 0 ||
      nanoCpus > MAX_NANO_CPUS
    )
      throw new InvalidServiceSpecError(
        `invalid ${what} CPU ${String(typeof nanoCpus === 'number' ? nanoCpus / 1e9 : nanoCpus)}: must be more than 0 and at most 1024`,
      )
  }
  if (memoryBytes !== undefined) {
    if (typeof memoryBytes !== 'number' || !Number.isInteger(memoryBytes) || memoryBytes <= 0)
      throw new InvalidServiceSpecError(
        `invalid ${what} memory ${String(memoryBytes)}: must be a positive byte count`,
      )
    if (limit && memoryBytes < MIN_MEMORY_LIMIT)
      throw new InvalidServiceSpecError(
        `invalid memory limit ${memoryBytes} bytes: the minimum allowed is 6 MB (a task needs that much to start)`,
      )
  }
}

/** Checks constraints, preferences and max replicas; returns a normalised copy (undefined if empty). */
export function validatePlacement(p: unknown): Placement | undefined {
  if (p === undefined) return undefined
  if (typeof p !== 'object' || p === null) throw new InvalidServiceSpecError('placement must be an object')
  const { constraints, preferences, maxReplicasPerNode } = p as Record<string, unknown>
  const out: Placement = {}
  if (constraints !== undefined) {
    if (!Array.isArray(constraints) || constraints.some((c) => typeof c !== 'string'))
      throw new InvalidServiceSpecError('placement constraints must be strings')
    for (const c of constraints as string[]) parseConstraint(c)
    if (constraints.length > 0) out.constraints = [...new Set(constraints as string[])].map((c) => c.trim())
  }
  if (preferences !== undefined) {
    if (!Array.isArray(preferences)) throw new InvalidServiceSpecError('placement preferences must be a list')
    const prefs = preferences.map((x) => {
      const spread = (x as { spread?: unknown } | null)?.spread
      if (typeof spread !== 'string')
        throw new InvalidServiceSpecError('a placement preference must be { spread: "node.labels.KEY" }')
      spreadLabel(spread)
      return { spread }
    })
    if (prefs.length > 0) out.preferences = prefs
  }
  if (maxReplicasPerNode !== undefined) {
    if (
      typeof maxReplicasPerNode !== 'number' ||
      !Number.isInteger(maxReplicasPerNode) ||
      maxReplicasPerNode < 0
    )
      throw new InvalidServiceSpecError(
        `invalid replicas max per node ${String(maxReplicasPerNode)}: must be an integer ≥ 0 (0 = no limit)`,
      )
    if (maxReplicasPerNode > 0) out.maxReplicasPerNode = maxReplicasPerNode
  }
  return Object.keys(out).length > 0 ? out : undefined
}

/** Checks limits (memory ≥ 6 MB, CPU > 0) and reservations; undefined if there are none. */
export function validateResources(r: unknown): Resources | undefined {
  if (r === undefined) return undefined
  if (typeof r !== 'object' || r === null) throw new InvalidServiceSpecError('resources must be an object')
  const { limits, reservations } = r as Record<string, unknown>
  validateAmount('limit', limits, true)
  validateAmount('reservation', reservations, false)
  const out: Resources = {}
  const clean = (a: unknown) => {
    const { nanoCpus, memoryBytes } = (a ?? {}) as { nanoCpus?: number; memoryBytes?: number }
    const v = {
      ...(nanoCpus !== undefined ? { nanoCpus } : {}),
      ...(memoryBytes !== undefined ? { memoryBytes } : {}),
    }
    return Object.keys(v).length > 0 ? v : undefined
  }
  const l = clean(limits)
  const s = clean(reservations)
  if (l) out.limits = l
  if (s) out.reservations = s
  return Object.keys(out).length > 0 ? out : undefined
}
