import { type Logger, SwarmnetError } from '@swarmnet/interface'
import {
  createLab,
  destroyLab,
  LAB_NAME_PATTERN,
  type LabNode,
  type LabStatus,
  listLabs,
  MAX_HOSTS,
  MAX_VMS,
} from '@swarmnet/lab'
import { createLogger, type LogLevel } from '@swarmnet/logger'
import type { Command } from 'commander'
import { CliError } from '../errors.js'
import { printJson, printTable } from '../output.js'

/**
 * `swarmnet lab up|down|status|exec`: a multi-host lab on this machine (see @swarmnet/lab).
 * Every verb runs in a fresh process and finds the lab again in /proc. `up` refuses a name
 * that is already in use (run `lab down` first); `down` is idempotent.
 */
export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description('Run simulated hosts on this machine (network, mount, pid, uts namespaces)')

  lab
    .command('up')
    .description('Start a lab of N hosts, an underlay switch and an ext host')
    .argument('<hosts>', `number of hosts (1-${MAX_HOSTS}; with --vm 1-${MAX_VMS})`)
    .option('--name <name>', 'lab name', 'lab')
    .option('--mtu <mtu>', 'MTU of the underlay (576-9000)', '1500')
    .option('--vm', 'hosts are QEMU VMs (real IPVS and ESP; builds the image on first use)')
    .option('--format <format>', "'json' for machine output")
    .action(async (hosts: string, opts: { name: string; mtu: string; vm?: boolean; format?: string }) => {
      const name = checkName(opts.name)
      const count = Number(hosts)
      const max = opts.vm === true ? MAX_VMS : MAX_HOSTS
      if (!/^[0-9]+$/.test(hosts) || count < 1 || count > max) {
        throw new CliError(
          `invalid host count '${hosts}': an integer from 1 to ${max}${opts.vm ? ' with --vm' : ''}`,
          2,
        )
      }
      if (!/^[0-9]{1,5}$/.test(opts.mtu))
        throw new CliError(`invalid --mtu '${opts.mtu}': expected a number`, 2)
      const init = { name, hosts: count, mtu: Number(opts.mtu), vm: opts.vm === true }
      const l = await lifted(async () => createLab({ logger: logger() }, init)) // validates, creates nothing
      checkRoot()
      await lifted(() => l.up())
      if (opts.format === 'json') printJson(await l.status())
      else {
        const hosts =
          count === 1
            ? `${l.hostname(1)} (${l.hostAddress(1)})`
            : `${l.hostname(1)}..${l.hostname(count)} (${l.hostAddress(1)}-${l.hostAddress(count)})`
        const kind = opts.vm === true ? 'VM hosts' : 'hosts'
        console.log(`lab ${name} is up: ${kind} ${hosts}, ext ${l.hostname('ext')} (${l.extAddress})`)
      }
    })

  lab
    .command('down')
    .description('Kill every process of a lab and remove its namespaces')
    .option('--name <name>', 'lab name', 'lab')
    .action(async (opts: { name: string }) => {
      const name = checkName(opts.name)
      checkRoot()
      const killed = await lifted(() => destroyLab(name, { logger: logger() }))
      console.log(killed > 0 ? `lab ${name} removed` : `lab ${name}: nothing to remove`)
    })

  lab
    .command('status')
    .description('Show the nodes of a lab')
    .option('--name <name>', 'lab name', 'lab')
    .option('--format <format>', "'json' for machine output")
    .action(async (opts: { name: string; format?: string }) => {
      const name = checkName(opts.name)
      checkRoot()
      show(await find(name), opts.format)
    })

  lab
    .command('exec')
    .description("Run a command inside a lab host, as if logged in there (put '--' before the command)")
    .argument('<host>', "host number, 'ext' or 'switch'")
    .argument('<command...>', 'command and its arguments')
    .option('--name <name>', 'lab name', 'lab')
    .action(async (host: string, argv: string[], opts: { name: string }) => {
      const name = checkName(opts.name)
      checkRoot()
      const status = await find(name)
      const node = parseHost(host, status.hosts)
      const l = createLab({ logger: logger() }, { name, hosts: status.hosts })
      const r = await lifted(() => l.exec(node, argv, { stdio: 'inherit' }))
      process.exitCode = r.exitCode
    })
}

function checkName(name: string): string {
  if (!LAB_NAME_PATTERN.test(name)) {
    throw new CliError(
      `invalid lab name '${name}': a lower-case letter then up to 7 lower-case letters or digits`,
      2,
    )
  }
  return name
}

function checkRoot(): void {
  if (process.getuid?.() !== 0) throw new CliError('swarmnet lab needs root (namespaces, mounts, veths)')
}

function parseHost(host: string, hosts: number): LabNode {
  if (host === 'ext' || host === 'switch') return host
  const i = Number(host)
  if (!/^[0-9]+$/.test(host) || i < 1 || i > hosts) {
    throw new CliError(`invalid host '${host}': 1 to ${hosts}, 'ext' or 'switch'`, 2)
  }
  return i
}

async function find(name: string): Promise<LabStatus> {
  const status = (await listLabs()).find((l) => l.name === name)
  if (status === undefined) throw new CliError(`no lab named '${name}' (start one with 'swarmnet lab up')`)
  return status
}

function show(status: LabStatus, format: string | undefined): void {
  if (format === 'json') {
    printJson(status)
    return
  }
  printTable(
    ['NODE', 'HOSTNAME', 'ADDRESS', 'PID', 'STATE', 'KIND'],
    status.nodes.map((n) => [
      String(n.node),
      n.hostname,
      n.address,
      n.pid === undefined ? '-' : String(n.pid),
      n.running ? 'running' : 'down',
      n.vm ? 'vm' : 'netns',
    ]),
  )
}

/** Errors of the lab that are the user's doing become one-line CLI errors. */
async function lifted<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (
      err instanceof SwarmnetError &&
      ['ERR_INVALID_INPUT', 'ERR_CONFLICT', 'ERR_NOT_FOUND'].includes(err.code)
    ) {
      throw new CliError(err.message)
    }
    throw err
  }
}

function logger(): Logger {
  const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']
  const env = process.env.SWARMNET_LOG_LEVEL
  const level = levels.find((l) => l === env) ?? 'warn'
  return createLogger({ component: 'swarmnet:lab', level })
}
