/** `swarmnet service create|inspect|scale|rm` (ls/ps, logs and exec have their own files). */
import { systemClock } from '@swarmnet/interface'
import { serviceApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { collect, eachRef, parseCount } from '../args.js'
import { call } from '../client.js'
import { CliError } from '../errors.js'
import { inspectFormat } from '../output.js'
import { prettyService, printPretty } from '../pretty.js'
import { type ServiceSnapshot, waitConverged } from '../progress.js'
import { registerExec } from './exec.js'
import { type PlacementFlags, placementFromFlags, placementOptions } from './placement-flags.js'
import { portsFromFlags, registerPublish } from './publish-flags.js'
import { registerServiceList } from './service-list.js'
import { registerServiceLogs } from './service-logs.js'
import {
  healthParser,
  type ParsedOptions,
  parseEnv,
  registerServiceUpdate,
  restartParser,
  rollbackConfigParser,
  type SpecPatch,
  updateConfigParser,
} from './service-update.js'

/** The flag groups `service create` shares with `service update`. */
const CREATE_PARSERS = [healthParser, restartParser, updateConfigParser, rollbackConfigParser]

/**
 * The service as the progress display needs it, from the manager. With `rollout`, a paused
 * update or rollback is an error (exit 1) with the manager's reason, as Docker's.
 */
async function snapshot(
  ref: string,
  rollout: boolean,
  signal: AbortSignal | undefined,
): Promise<ServiceSnapshot> {
  const opts = signal ? { signal } : {}
  const [s, tasks] = await Promise.all([
    call(serviceApi.inspect, { ref }, 30_000, opts),
    call(serviceApi.ps, { ref }, 30_000, opts),
  ])
  const state = s.updateStatus?.state
  if (rollout && (state === 'paused' || state === 'rollback_paused'))
    throw new CliError(s.updateStatus?.message ?? state)
  const rollingOut = rollout && (state === 'updating' || state === 'rollback_started')
  return { id: s.id, mode: s.mode, desired: s.desired, tasks, rollingOut }
}

/**
 * Waits until the service converges, with docker's progress on stdout (none with `quiet`).
 * `service update` and `rollback` (`rollout`) also wait for the updater to be done.
 */
export async function converge(ref: string, quiet: boolean, rollout = false): Promise<void> {
  await waitConverged({
    clock: systemClock,
    observe: (o) => snapshot(ref, rollout, o.signal),
    ...(quiet
      ? {}
      : { out: { write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true } }),
  })
}

export function registerService(program: Command): void {
  const service = program.command('service').description('Manage services')

  const create = placementOptions(
    service
      .command('create')
      .description('Create a service; COMMAND runs as each task, in its own network sandbox'),
  )
    .requiredOption('--name <name>', 'service name')
    .option('--replicas <n>', 'number of tasks (replicated mode)', parseCount('--replicas'))
    .option('--mode <mode>', 'replicated or global', 'replicated')
    .option('--network <net>', 'attach to an overlay network (repeatable)', collect, [])
    .option('-e, --env <k=v>', 'environment variable (repeatable)', collect, [])
    .option('--endpoint-mode <mode>', 'vip (a virtual IP per network) or dnsrr (DNS round robin)', 'vip')
    .option('-d, --detach', 'return at once instead of waiting for the tasks to run')
    .option('-q, --quiet', 'print only the service id (no progress)')
    .argument('<command...>', 'the command and its arguments (after --)')
  registerPublish(create)
  for (const p of CREATE_PARSERS) p.register(create)
  create.action(
    async (
      argv: string[],
      o: PlacementFlags & {
        name: string
        replicas?: number
        mode: string
        network: string[]
        env: string[]
        endpointMode: string
        publish: string[]
        detach?: boolean
        quiet?: boolean
      },
    ) => {
      if (o.name.trim() === '') throw new CliError('invalid --name: a service needs a name', 2)
      if (o.endpointMode !== 'vip' && o.endpointMode !== 'dnsrr')
        throw new CliError(`invalid --endpoint-mode '${o.endpointMode}': expected vip or dnsrr`, 2)
      if (o.mode !== 'replicated' && o.mode !== 'global')
        throw new CliError(`invalid --mode '${o.mode}': expected replicated or global`, 2)
      if (o.mode === 'global' && o.replicas !== undefined)
        throw new CliError('--replicas cannot be used with --mode global', 2)
      if (argv.length === 0 || argv[0] === '')
        throw new CliError('a command is required: service create --name N -- COMMAND [ARGS...]', 2)
      const groups: SpecPatch = Object.assign(
        {},
        ...CREATE_PARSERS.map((p) => p.parse(o as unknown as ParsedOptions)),
      )
      const { health, restart, update, rollback } = groups
      if (health && health.cmd === undefined) throw new CliError('--health-* options need a --health-cmd', 2)
      const placement = placementFromFlags(o)
      const ports = portsFromFlags(o)
      if (o.endpointMode === 'dnsrr' && ports.ports?.some((p) => p.publishMode === 'ingress'))
        throw new CliError("port published with ingress mode can't be used with dnsrr mode", 2)
      const s = await call(serviceApi.create, {
        ...placement,
        ...ports,
        ...(health?.cmd !== undefined ? { health: { ...health, cmd: health.cmd } } : {}),
        ...(restart ? { restart } : {}),
        ...(update ? { update } : {}),
        ...(rollback ? { rollback } : {}),
        name: o.name,
        ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
        global: o.mode === 'global',
        networks: o.network,
        env: parseEnv(o.env),
        restartCondition: restart?.condition ?? 'any',
        endpointMode: o.endpointMode,
        argv,
      })
      console.log(s.id)
      if (o.detach !== true) await converge(s.id, o.quiet === true)
    },
  )

  service
    .command('inspect')
    .description('Show details of services (JSON)')
    .option('-f, --format <format>', "'json' (default) or a template such as '{{.name}}'")
    .option('--pretty', "Docker's human-readable form (with the published ports)")
    .argument('<service...>', 'name or id')
    .action(async (refs: string[], o: { format?: string; pretty?: boolean }) => {
      if (o.pretty === true && o.format !== undefined)
        throw new CliError('--pretty conflicts with --format', 2)
      const print = o.pretty === true ? printPretty(prettyService) : inspectFormat(o.format)
      const out = []
      for (const ref of refs) out.push(await call(serviceApi.inspect, { ref }))
      print(out)
    })

  service
    .command('scale')
    .description('Scale replicated services: NAME=REPLICAS ...; waits for each to converge unless -d')
    .option('-d, --detach', 'return at once instead of waiting for the tasks to run')
    .argument('<pairs...>', 'service=replicas')
    .action(async (pairs: string[], o: { detach?: boolean }) => {
      const parsed = pairs.map((p) => {
        const m = /^([^=]+)=(.*)$/.exec(p)
        if (m === null) throw new CliError(`invalid scale '${p}': expected SERVICE=REPLICAS`, 2)
        return { ref: m[1] ?? '', replicas: parseCount(`replica count for ${m[1]}`)(m[2] ?? '') }
      })
      // docker's way: scale what can be, report each failure, wait for the ones that were
      const failures: string[] = []
      const scaled: string[] = []
      for (const p of parsed) {
        try {
          const s = await call(serviceApi.scale, p)
          console.log(`${p.ref} scaled to ${p.replicas}`)
          scaled.push(s.id)
        } catch (err) {
          if (!(err instanceof CliError)) throw err
          failures.push(err.message)
        }
      }
      if (o.detach !== true) for (const id of scaled) await converge(id, false)
      if (failures.length > 0) throw new CliError(failures.join('\n'))
    })

  service
    .command('rm')
    .alias('remove')
    .description('Remove services and their tasks')
    .argument('<service...>', 'name or id')
    .action(async (refs: string[]) => eachRef(refs, (ref) => call(serviceApi.remove, { ref })))

  registerServiceUpdate(service, converge)
  registerServiceList(service)
  registerServiceLogs(service)
  registerExec(program)
}
