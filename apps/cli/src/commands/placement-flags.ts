/**
 * Docker's placement and resource flags, parsed into the service spec's `placement` and
 * `resources`: `--constraint`, `--placement-pref`, `--replicas-max-per-node`, `--limit-cpu`,
 * `--limit-memory`, `--reserve-cpu`, `--reserve-memory` on create
 * ({@link placementFromFlags}), and their update forms `--constraint-add/-rm`,
 * `--placement-pref-add/-rm` ({@link applyPlacementUpdate}). Bad input is a usage error (exit 2)
 * before anything is sent.
 */
import type { Placement, Resources } from '@swarmnet/orchestrator'
import { MIN_MEMORY_LIMIT, parseConstraint, spreadLabel } from '@swarmnet/orchestrator'
import type { Command } from 'commander'
import { collect } from '../args.js'
import { CliError } from '../errors.js'

/** The spec fields these flags set. */
export interface PlacementSpec {
  placement?: Placement | undefined
  resources?: Resources | undefined
}

/** `service create`'s flags as commander hands them over. */
export interface PlacementFlags {
  constraint?: string[]
  placementPref?: string[]
  replicasMaxPerNode?: string
  limitCpu?: string
  limitMemory?: string
  reserveCpu?: string
  reserveMemory?: string
}

/** `service update`'s flags: the create ones that replace a value, plus add/remove lists. */
export interface PlacementUpdateFlags extends Omit<PlacementFlags, 'constraint' | 'placementPref'> {
  constraintAdd?: string[]
  constraintRm?: string[]
  placementPrefAdd?: string[]
  placementPrefRm?: string[]
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** Docker's RAMInBytes: `64m`, `64M`, `64MB`, `1.5g`, `512k`, `1048576` (binary multiples). */
export function parseBytes(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(v.trim())
  if (m === null)
    throw new CliError(
      `invalid ${flag} '${v}': expected a size like 64M, 512k or 1.5g (units b, k, m, g, t)`,
      2,
    )
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1))
  if (!Number.isSafeInteger(bytes)) throw new CliError(`invalid ${flag} '${v}': too large`, 2)
  return bytes
}

/** CPUs as a decimal (`0.2`, `1.5`) → nano-CPUs, as Docker's NanoCPUs. */
export function parseCpus(flag: string, v: string): number {
  if (!/^\d+(\.\d{1,9})?$/.test(v.trim()))
    throw new CliError(`invalid ${flag} '${v}': expected a number of CPUs like 0.5 or 2`, 2)
  return Math.round(Number(v) * 1e9)
}

function checkConstraint(c: string): string {
  try {
    parseConstraint(c)
  } catch (err) {
    throw new CliError((err as Error).message, 2)
  }
  return c.trim()
}

/** `spread=node.labels.zone` → `{ spread: 'node.labels.zone' }`. */
export function parsePreference(v: string): { spread: string } {
  const m = /^spread=(.+)$/.exec(v.trim())
  if (m?.[1] === undefined)
    throw new CliError(`invalid --placement-pref '${v}': expected spread=node.labels.KEY`, 2)
  try {
    spreadLabel(m[1])
  } catch (err) {
    throw new CliError((err as Error).message, 2)
  }
  return { spread: m[1] }
}

function parseMaxPerNode(v: string): number {
  if (!/^\d{1,9}$/.test(v))
    throw new CliError(`invalid --replicas-max-per-node '${v}': expected a whole number, 0 for no limit`, 2)
  return Number(v)
}

type Amount = { nanoCpus?: number; memoryBytes?: number }

/**
 * Sets (or, with `0` on update, clears) one amount. A CPU limit of 0 on create and a memory
 * limit under 6 MB are refused: Docker's rules, before anything is sent.
 */
function setAmounts(
  base: Amount | undefined,
  cpu: string | undefined,
  mem: string | undefined,
  kind: 'limit' | 'reserve',
  update: boolean,
): Amount | undefined {
  const out: Amount = { ...base }
  if (cpu !== undefined) {
    const n = parseCpus(`--${kind}-cpu`, cpu)
    if (n === 0 && !update) throw new CliError(`invalid --${kind}-cpu '${cpu}': must be more than 0`, 2)
    if (n === 0) delete out.nanoCpus
    else out.nanoCpus = n
  }
  if (mem !== undefined) {
    const b = parseBytes(`--${kind}-memory`, mem)
    if (b === 0 && !update) throw new CliError(`invalid --${kind}-memory '${mem}': must be more than 0`, 2)
    if (kind === 'limit' && b > 0 && b < MIN_MEMORY_LIMIT)
      throw new CliError(
        `invalid --limit-memory '${mem}': the minimum allowed is 6 MB (a task needs that much to start)`,
        2,
      )
    if (b === 0) delete out.memoryBytes
    else out.memoryBytes = b
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function tidy(spec: { placement: Placement; resources: Resources }): PlacementSpec {
  const p = spec.placement
  const placement: Placement = {
    ...(p.constraints && p.constraints.length > 0 ? { constraints: p.constraints } : {}),
    ...(p.preferences && p.preferences.length > 0 ? { preferences: p.preferences } : {}),
    ...(p.maxReplicasPerNode ? { maxReplicasPerNode: p.maxReplicasPerNode } : {}),
  }
  const r = spec.resources
  const resources: Resources = {
    ...(r.limits ? { limits: r.limits } : {}),
    ...(r.reservations ? { reservations: r.reservations } : {}),
  }
  return {
    ...(Object.keys(placement).length > 0 ? { placement } : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
  }
}

/** `service create`: the spec's placement and resources from the flags (only what was given). */
export function placementFromFlags(o: PlacementFlags): PlacementSpec {
  const limits = setAmounts(undefined, o.limitCpu, o.limitMemory, 'limit', false)
  const reservations = setAmounts(undefined, o.reserveCpu, o.reserveMemory, 'reserve', false)
  return tidy({
    placement: {
      constraints: (o.constraint ?? []).map(checkConstraint),
      preferences: (o.placementPref ?? []).map(parsePreference),
      ...(o.replicasMaxPerNode !== undefined
        ? { maxReplicasPerNode: parseMaxPerNode(o.replicasMaxPerNode) }
        : {}),
    },
    resources: { ...(limits ? { limits } : {}), ...(reservations ? { reservations } : {}) },
  })
}

/**
 * `service update`: the spec's placement and resources after the flags, Docker's way —
 * constraints and preferences removed (`-rm`, by exact text or, for preferences, by
 * `spread=…`) then added (`-add`, no duplicates); `--replicas-max-per-node`, `--limit-*` and
 * `--reserve-*` replace their value, 0 clears it. What no flag names is kept.
 */
export function applyPlacementUpdate(spec: PlacementSpec, o: PlacementUpdateFlags): PlacementSpec {
  const p = spec.placement ?? {}
  const rm = new Set((o.constraintRm ?? []).map((c) => c.trim()))
  const constraints = (p.constraints ?? []).filter((c) => !rm.has(c))
  for (const c of (o.constraintAdd ?? []).map(checkConstraint))
    if (!constraints.includes(c)) constraints.push(c)
  const prefRm = new Set((o.placementPrefRm ?? []).map((v) => parsePreference(v).spread))
  const preferences = (p.preferences ?? []).filter((x) => !prefRm.has(x.spread))
  for (const x of (o.placementPrefAdd ?? []).map(parsePreference))
    if (!preferences.some((y) => y.spread === x.spread)) preferences.push(x)
  const max =
    o.replicasMaxPerNode !== undefined ? parseMaxPerNode(o.replicasMaxPerNode) : p.maxReplicasPerNode
  const limits = setAmounts(spec.resources?.limits, o.limitCpu, o.limitMemory, 'limit', true)
  const reservations = setAmounts(
    spec.resources?.reservations,
    o.reserveCpu,
    o.reserveMemory,
    'reserve',
    true,
  )
  return tidy({
    placement: { constraints, preferences, ...(max !== undefined ? { maxReplicasPerNode: max } : {}) },
    resources: { ...(limits ? { limits } : {}), ...(reservations ? { reservations } : {}) },
  })
}

/** The resource flags both verbs share. */
function resourceOptions(cmd: Command): Command {
  return cmd
    .option('--replicas-max-per-node <n>', 'at most this many tasks per node (0: no limit)')
    .option('--limit-cpu <cpus>', 'CPUs a task may use, enforced by the kernel (e.g. 0.5)')
    .option('--limit-memory <bytes>', 'memory a task may use; past it the kernel kills it (e.g. 64M)')
    .option('--reserve-cpu <cpus>', 'CPUs held for each task on its node by the scheduler')
    .option('--reserve-memory <bytes>', 'memory held for each task on its node by the scheduler')
}

/** Registers the create flags on `service create`. */
export function placementOptions(cmd: Command): Command {
  return resourceOptions(
    cmd
      .option(
        '--constraint <expr>',
        'placement constraint, e.g. node.labels.zone==a (repeatable)',
        collect,
        [],
      )
      .option(
        '--placement-pref <pref>',
        'placement preference, spread=node.labels.KEY (repeatable)',
        collect,
        [],
      ),
  )
}

/** Registers the update flags (for `service update`). */
export function placementUpdateOptions(cmd: Command): Command {
  return resourceOptions(
    cmd
      .option('--constraint-add <expr>', 'add a placement constraint (repeatable)', collect, [])
      .option('--constraint-rm <expr>', 'remove a placement constraint (repeatable)', collect, [])
      .option('--placement-pref-add <pref>', 'add a placement preference (repeatable)', collect, [])
      .option('--placement-pref-rm <pref>', 'remove a placement preference (repeatable)', collect, []),
  )
}
