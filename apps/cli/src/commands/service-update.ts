/**
 * `swarmnet service update` and `service rollback`, and the flag groups they share with
 * `service create` (`--restart-*`, `--update-*`, `--rollback-*`).
 *
 * `service update` is a list of {@link SpecPatchParser}s: each registers its flags and turns
 * them into its part of the request; another flag group (placement, ports) plugs in by adding
 * a parser to {@link UPDATE_PARSERS}.
 */
import { type ServiceUpdateRequest, type ServiceViewJson, serviceApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { collect, parseCount } from '../args.js'
import { call } from '../client.js'
import { parseDuration } from '../duration.js'
import { CliError } from '../errors.js'
import { applyPlacementUpdate, type PlacementUpdateFlags, placementUpdateOptions } from './placement-flags.js'
import { publishParser } from './publish-flags.js'

/** What the parsers produce: the update request without the service. */
export type SpecPatch = Omit<ServiceUpdateRequest, 'ref'>
/** Commander's parsed options of the command. */
export type ParsedOptions = Readonly<Record<string, unknown>>

/** One group of flags of `service update` (and maybe `create`). */
export interface SpecPatchParser {
  /** Adds the group's options to the command. */
  register(cmd: Command): Command
  /**
   * The group's part of the patch; usage errors (exit 2) for bad values. `current`: the service
   * now (absent on create), for flags that add to or remove from what it has.
   */
  parse(o: ParsedOptions, current?: ServiceViewJson): SpecPatch
  /** The flags given change what the service has: `parse` needs it as `current`. */
  needsCurrent?(o: ParsedOptions): boolean
}

function oneOf<T extends string>(what: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v))
      throw new CliError(`invalid ${what} '${v}': expected ${allowed.join(' or ')}`, 2)
    return v as T
  }
}

function ratio(what: string) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^\d*\.?\d+$/.test(v) || !(n >= 0 && n <= 1))
      throw new CliError(`invalid ${what} '${v}': expected a number from 0 to 1`, 2)
    return n
  }
}

/** Drops absent fields. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** `KEY=VALUE` pairs of `--env`/`--env-add`. */
export function parseEnv(pairs: readonly string[], flag = '--env'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const i = p.indexOf('=')
    if (i <= 0) throw new CliError(`invalid ${flag} '${p}': expected KEY=VALUE`, 2)
    out[p.slice(0, i)] = p.slice(i + 1)
  }
  return out
}

/** `--args "CMD ARGS"`: words split on blanks; '…' and "…" keep blanks. */
export function splitArgs(line: string): string[] {
  const words = [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
  if (words.length === 0 || words[0] === '') throw new CliError(`invalid --args '${line}': no command`, 2)
  return words
}

/** `--update-*` or `--rollback-*` (Docker's flags and values). */
function configParser(kind: 'update' | 'rollback'): SpecPatchParser {
  const actions =
    kind === 'update' ? (['pause', 'continue', 'rollback'] as const) : (['pause', 'continue'] as const)
  return {
    register: (cmd) =>
      cmd
        .option(
          `--${kind}-parallelism <n>`,
          `tasks ${kind}d at once (0: all)`,
          parseCount(`--${kind}-parallelism`),
        )
        .option(
          `--${kind}-delay <duration>`,
          `wait between ${kind}s of tasks`,
          parseDuration(`--${kind}-delay`),
        )
        .option(
          `--${kind}-order <order>`,
          'stop-first or start-first',
          oneOf(`--${kind}-order`, ['stop-first', 'start-first']),
        )
        .option(
          `--${kind}-failure-action <action>`,
          actions.join(', '),
          oneOf(`--${kind}-failure-action`, actions as unknown as string[]),
        )
        .option(
          `--${kind}-monitor <duration>`,
          'watch each new task this long for a failure',
          parseDuration(`--${kind}-monitor`),
        )
        .option(
          `--${kind}-max-failure-ratio <r>`,
          'failures tolerated, 0 to 1',
          ratio(`--${kind}-max-failure-ratio`),
        ),
    parse: (o) => {
      const c = defined({
        parallelism: o[`${kind}Parallelism`] as number | undefined,
        delayMs: o[`${kind}Delay`] as number | undefined,
        order: o[`${kind}Order`] as 'stop-first' | 'start-first' | undefined,
        failureAction: o[`${kind}FailureAction`] as 'pause' | 'continue' | 'rollback' | undefined,
        monitorMs: o[`${kind}Monitor`] as number | undefined,
        maxFailureRatio: o[`${kind}MaxFailureRatio`] as number | undefined,
      })
      return Object.keys(c).length > 0 ? { [kind]: c } : {}
    },
  }
}

/** `--restart-condition|delay|max-attempts|window`. */
export const restartParser: SpecPatchParser = {
  register: (cmd) =>
    cmd
      .option(
        '--restart-condition <cond>',
        'any, on-failure or none',
        oneOf('--restart-condition', ['any', 'on-failure', 'none']),
      )
      .option(
        '--restart-delay <duration>',
        'wait before a restart, doubled per consecutive failure up to 10× (default 5s)',
        parseDuration('--restart-delay'),
      )
      .option(
        '--restart-max-attempts <n>',
        'restarts before giving up (0: unlimited)',
        parseCount('--restart-max-attempts'),
      )
      .option(
        '--restart-window <duration>',
        'a task that ran this long resets the back-off (default 60s)',
        parseDuration('--restart-window'),
      ),
  parse: (o) => {
    const r = defined({
      condition: o.restartCondition as 'any' | 'on-failure' | 'none' | undefined,
      delayMs: o.restartDelay as number | undefined,
      maxAttempts: o.restartMaxAttempts as number | undefined,
      windowMs: o.restartWindow as number | undefined,
    })
    return Object.keys(r).length > 0 ? { restart: r } : {}
  },
}

function positiveDuration(flag: string) {
  const parse = parseDuration(flag)
  return (v: string): number => {
    const ms = parse(v)
    if (ms <= 0) throw new CliError(`invalid ${flag} '${v}': must be more than 0`, 2)
    return ms
  }
}

function positiveCount(flag: string) {
  const parse = parseCount(flag)
  return (v: string): number => {
    const n = parse(v)
    if (n < 1) throw new CliError(`invalid ${flag} '${v}': must be 1 or more`, 2)
    return n
  }
}

/** `--health-cmd|interval|timeout|retries|start-period`, `--no-healthcheck`. */
export const healthParser: SpecPatchParser = {
  register: (cmd) =>
    cmd
      .option('--health-cmd <command>', 'health check run in the task with /bin/sh -c; exit 0 is healthy')
      .option(
        '--health-interval <duration>',
        'between checks (default 30s)',
        positiveDuration('--health-interval'),
      )
      .option(
        '--health-timeout <duration>',
        'a longer check fails (default 30s)',
        positiveDuration('--health-timeout'),
      )
      .option(
        '--health-retries <n>',
        'consecutive failures to be unhealthy (default 3)',
        positiveCount('--health-retries'),
      )
      .option(
        '--health-start-period <duration>',
        'failures in this long after the start do not count',
        parseDuration('--health-start-period'),
      )
      .option('--no-healthcheck', 'no health check'),
  parse: (o) => {
    const h = defined({
      cmd: o.healthCmd as string | undefined,
      intervalMs: o.healthInterval as number | undefined,
      timeoutMs: o.healthTimeout as number | undefined,
      retries: o.healthRetries as number | undefined,
      startPeriodMs: o.healthStartPeriod as number | undefined,
    })
    if (h.cmd !== undefined && h.cmd.trim() === '') throw new CliError('invalid --health-cmd: empty', 2)
    if (o.healthcheck === false) {
      if (Object.keys(h).length > 0)
        throw new CliError('--no-healthcheck conflicts with --health-* options', 2)
      return { health: null }
    }
    return Object.keys(h).length > 0 ? { health: h } : {}
  },
}

export const updateConfigParser = configParser('update')
export const rollbackConfigParser = configParser('rollback')

/** `--args`, `--env-add`, `--env-rm`, `--replicas`, `--force`. */
const taskParser: SpecPatchParser = {
  register: (cmd) =>
    cmd
      .option('--args <command>', 'the new command and its arguments, as one string')
      .option('--env-add <k=v>', 'add or change an environment variable (repeatable)', collect, [])
      .option('--env-rm <k>', 'remove an environment variable (repeatable)', collect, [])
      .option('--replicas <n>', 'number of tasks', parseCount('--replicas'))
      .option('--force', 'replace every task even if nothing changed'),
  parse: (o) => {
    const envAdd = parseEnv(o.envAdd as string[], '--env-add')
    const envRm = o.envRm as string[]
    return defined({
      argv: typeof o.args === 'string' ? splitArgs(o.args) : undefined,
      envAdd: Object.keys(envAdd).length > 0 ? envAdd : undefined,
      envRm: envRm.length > 0 ? envRm : undefined,
      replicas: o.replicas as number | undefined,
      force: o.force === true ? true : undefined,
    })
  },
}

/** `--constraint-add/-rm`, `--placement-pref-add/-rm`, `--replicas-max-per-node`, `--limit-*`, `--reserve-*` (placement-flags.ts). */
export const placementParser: SpecPatchParser = {
  register: (cmd) => placementUpdateOptions(cmd),
  needsCurrent: (o) => {
    const f = o as PlacementUpdateFlags
    const lists = [f.constraintAdd, f.constraintRm, f.placementPrefAdd, f.placementPrefRm]
    const values = [f.replicasMaxPerNode, f.limitCpu, f.limitMemory, f.reserveCpu, f.reserveMemory]
    return lists.some((l) => (l?.length ?? 0) > 0) || values.some((v) => v !== undefined)
  },
  parse: (o, current) => {
    // without the service (yet): the flags are checked, nothing is patched
    const next = applyPlacementUpdate(current ?? {}, o as PlacementUpdateFlags)
    if (current === undefined || placementParser.needsCurrent?.(o) !== true) return {}
    return { placement: next.placement ?? {}, resources: next.resources ?? {} }
  },
}

/** The flag groups of `service update`, in help order. */
export const UPDATE_PARSERS: SpecPatchParser[] = [
  taskParser,
  healthParser,
  restartParser,
  updateConfigParser,
  rollbackConfigParser,
  placementParser,
  publishParser,
]

export function registerServiceUpdate(
  service: Command,
  converge: (ref: string, quiet: boolean, rollout: boolean) => Promise<void>,
  parsers: readonly SpecPatchParser[] = UPDATE_PARSERS,
): void {
  const update = service
    .command('update')
    .description('Update a service: its tasks are replaced slot by slot (a rolling update)')
    .option('-d, --detach', 'return at once instead of waiting for the update')
    .option('-q, --quiet', 'no progress')
    .argument('<service>', 'name or id')
  for (const p of parsers) p.register(update)
  update.action(async (ref: string, o: ParsedOptions) => {
    // usage errors first, before the agent is asked
    let patch: SpecPatch = Object.assign({}, ...parsers.map((p) => p.parse(o)))
    if (parsers.some((p) => p.needsCurrent?.(o) === true)) {
      const current = await call(serviceApi.inspect, { ref })
      patch = Object.assign({}, ...parsers.map((p) => p.parse(o, current)))
    }
    const s = await call(serviceApi.update, { ref, ...patch })
    console.log(s.name)
    if (o.detach === true) return
    await converge(s.id, o.quiet === true, true)
    // the failure action rolled the update back: Docker's CLI fails then too
    const after = await call(serviceApi.inspect, { ref: s.id })
    if (after.updateStatus?.state === 'rollback_completed' && after.version !== s.version)
      throw new CliError(`service rolled back: ${after.updateStatus.message}`)
  })

  service
    .command('rollback')
    .description('Return a service to its previous spec, rolled out as an update (its --rollback-* config)')
    .option('-d, --detach', 'return at once instead of waiting for the rollback')
    .option('-q, --quiet', 'no progress')
    .argument('<service>', 'name or id')
    .action(async (ref: string, o: ParsedOptions) => {
      const s = await call(serviceApi.rollback, { ref })
      console.log(s.name)
      if (o.detach !== true) await converge(s.id, o.quiet === true, true)
    })
}
