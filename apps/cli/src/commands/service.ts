/** `swarmnet service create|ls|ps|inspect|scale|rm|logs` and `swarmnet exec`. */
import path from 'node:path'
import { serviceApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { call } from '../client.js'
import { env } from '../env.js'
import { CliError } from '../errors.js'
import { printJson, printTable } from '../output.js'

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const i = p.indexOf('=')
    if (i <= 0) throw new CliError(`invalid --env '${p}': expected KEY=VALUE`, 2)
    out[p.slice(0, i)] = p.slice(i + 1)
  }
  return out
}

function parseCount(what: string) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new CliError(`invalid ${what} '${v}': expected a whole number`, 2)
    return Number(v)
  }
}

export function registerService(program: Command): void {
  const service = program.command('service').description('Manage services')

  service
    .command('create')
    .description('Create a service; COMMAND runs as each task, in its own network sandbox')
    .requiredOption('--name <name>', 'service name')
    .option('--replicas <n>', 'number of tasks (replicated mode)', parseCount('replicas'))
    .option('--mode <mode>', 'replicated or global', 'replicated')
    .option('--network <net>', 'attach to an overlay network (repeatable)', collect, [])
    .option('-e, --env <k=v>', 'environment variable (repeatable)', collect, [])
    .option('--restart-condition <cond>', 'any, on-failure or none', 'any')
    .option('--endpoint-mode <mode>', 'vip (a virtual IP per network) or dnsrr (DNS round robin)', 'vip')
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(
      async (
        argv: string[],
        o: {
          name: string
          replicas?: number
          mode: string
          network: string[]
          env: string[]
          restartCondition: string
          endpointMode: string
        },
      ) => {
        if (o.endpointMode !== 'vip' && o.endpointMode !== 'dnsrr')
          throw new CliError(`invalid --endpoint-mode '${o.endpointMode}': expected vip or dnsrr`, 2)
        if (o.mode !== 'replicated' && o.mode !== 'global')
          throw new CliError(`invalid --mode '${o.mode}': expected replicated or global`, 2)
        if (!['any', 'on-failure', 'none'].includes(o.restartCondition))
          throw new CliError(
            `invalid --restart-condition '${o.restartCondition}': expected any, on-failure or none`,
            2,
          )
        if (argv.length === 0 || argv[0] === '')
          throw new CliError('a command is required: service create --name N -- COMMAND [ARGS...]', 2)
        const s = await call(serviceApi.create, {
          name: o.name,
          ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
          global: o.mode === 'global',
          networks: o.network,
          env: parseEnv(o.env),
          restartCondition: o.restartCondition as 'any' | 'on-failure' | 'none',
          endpointMode: o.endpointMode,
          argv,
        })
        console.log(s.id)
      },
    )

  service
    .command('ls')
    .alias('list')
    .description('List services')
    .option('-q, --quiet', 'only display ids')
    .option('--format <format>', "'json' for machine output")
    .action(async (o: { quiet?: boolean; format?: string }) => {
      const list = await call(serviceApi.list, {})
      if (o.format === 'json') return printJson(list)
      if (o.quiet) {
        for (const s of list) console.log(s.id)
        return
      }
      printTable(
        ['ID', 'NAME', 'MODE', 'REPLICAS', 'COMMAND'],
        list.map((s) => [s.id.slice(0, 12), s.name, s.mode, s.replicas, s.argv.join(' ')]),
      )
    })

  service
    .command('ps')
    .description('List the tasks of a service')
    .option('--format <format>', "'json' for machine output")
    .option('-q, --quiet', 'only display task ids')
    .argument('<service>', 'name or id')
    .action(async (ref: string, o: { format?: string; quiet?: boolean }) => {
      const tasks = await call(serviceApi.ps, { ref })
      if (o.format === 'json') return printJson(tasks)
      if (o.quiet) {
        for (const t of tasks) console.log(t.id)
        return
      }
      printTable(
        ['ID', 'NAME', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'],
        tasks.map((t) => [
          t.id.slice(0, 12),
          t.name,
          t.node,
          t.desiredState[0]?.toUpperCase() + t.desiredState.slice(1),
          t.currentState,
          t.error,
        ]),
      )
    })

  service
    .command('inspect')
    .description('Show details of services (JSON)')
    .argument('<service...>', 'name or id')
    .action(async (refs: string[]) => {
      const out = []
      for (const ref of refs) out.push(await call(serviceApi.inspect, { ref }))
      printJson(out)
    })

  service
    .command('scale')
    .description('Scale replicated services: NAME=REPLICAS ...')
    .argument('<pairs...>', 'service=replicas')
    .action(async (pairs: string[]) => {
      for (const p of pairs) {
        const m = /^(.+)=(-?\d+)$/.exec(p)
        if (m === null) throw new CliError(`invalid scale '${p}': expected SERVICE=REPLICAS`, 2)
        await call(serviceApi.scale, { ref: m[1] ?? '', replicas: Number(m[2]) })
        console.log(`${m[1]} scaled to ${m[2]}`)
      }
    })

  service
    .command('rm')
    .alias('remove')
    .description('Remove services and their tasks')
    .argument('<service...>', 'name or id')
    .action(async (refs: string[]) => {
      for (const ref of refs) {
        await call(serviceApi.remove, { ref })
        console.log(ref)
      }
    })

  service
    .command('logs')
    .description("Show the recent output of a service's tasks")
    .option('-n, --tail <lines>', 'lines per task', parseCount('tail'))
    .argument('<service>', 'name or id')
    .action(async (ref: string, o: { tail?: number }) => {
      const logs = await call(serviceApi.logs, { ref, ...(o.tail !== undefined ? { tail: o.tail } : {}) })
      for (const l of logs)
        for (const line of l.text.split('\n')) if (line) console.log(`${l.name}@${l.node}    | ${line}`)
    })

  program
    .command('exec')
    .description("Run a command inside a task's sandbox on this node; its exit code is returned")
    .argument('<task>', 'task id or unique id prefix (see service ps)')
    .argument('<command...>', 'command and arguments (after --)')
    .action(async (ref: string, argv: string[]) => {
      // the runtime loads only for this verb (service ls/ps must answer at once)
      const [{ systemClock }, { createLogger }, { createRuntime }] = await Promise.all([
        import('@swarmnet/interface'),
        import('@swarmnet/logger'),
        import('@swarmnet/runtime'),
      ])
      const runtime = createRuntime(
        { logger: createLogger({ level: 'error' }), clock: systemClock },
        { stateDir: path.join(env.dataDir, 'tasks'), logDir: env.taskLogDir },
      )
      const matches = (await runtime.list()).filter((t) => t.id.startsWith(ref))
      if (matches.length === 0) throw new CliError(`no task ${ref} on this node`)
      if (matches.length > 1) throw new CliError(`task id prefix ${ref} is ambiguous`)
      const r = await runtime.exec(matches[0]?.id ?? '', argv, { stdio: 'inherit' })
      process.exitCode = r.exitCode
    })
}
