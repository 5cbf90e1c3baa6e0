#!/usr/bin/env node
/**
 * `swarmnet`: the commander CLI. The only code in the repository that prints for humans.
 * Each verb lives in commands/<verb>.ts and registers itself on the program.
 */
import { enableCompileCache } from 'node:module'
import { Command, CommanderError } from 'commander'
import { CliError } from './errors.js'
import { SWARMNET_VERSION } from './version.js'

// Node keeps the compiled code of the modules a verb loads (under os.tmpdir(), or
// NODE_COMPILE_CACHE), so the next call skips compiling zod and the wire schemas: ~20 ms
enableCompileCache()

const program = new Command('swarmnet')
  .description('Swarm-style cluster manager whose heart is the network')
  .version(`swarmnet version ${SWARMNET_VERSION}`, '-v, --version', 'print the version and exit')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

type Register = (p: Command) => void

/**
 * [the verbs a module registers, a loader of its register function]. Only the module of the
 * verb being run is loaded (all of them for help or an unknown verb), so `swarmnet version`
 * or `node ls` loads commander and the wire client, never the agent, libp2p, level, forge,
 * the lab or the runtime; those load inside their own verbs' actions.
 */
const registrations: Array<[readonly string[], () => Promise<Register>]> = [
  [['version'], async () => (await import('./commands/version.js')).registerVersion],
  [['agent'], async () => (await import('./commands/agent.js')).registerAgent],
  [
    ['init', 'join', 'join-token', 'leave', 'info'],
    async () => (await import('./commands/cluster.js')).registerCluster,
  ],
  [['node'], async () => (await import('./commands/node.js')).registerNode],
  [['network', 'endpoint'], async () => (await import('./commands/network.js')).registerNetwork],
  [['service', 'exec'], async () => (await import('./commands/service.js')).registerService],
  [['lab'], async () => (await import('./commands/lab.js')).registerLab],
  [['whoami'], async () => (await import('./commands/whoami.js')).registerWhoami],
]
const verb = process.argv[2] ?? ''
const own = registrations.filter(([verbs]) => verbs.includes(verb))
for (const [, load] of own.length > 0 ? own : registrations) (await load())(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.exitCode = report(err)
}

/**
 * The exit code of a failed verb, docker's way: 2 for every usage error (commander's own —
 * unknown verb or option, missing argument — and the CLI's checks of flag values), 1 for
 * every request the agent or the manager refused, and for anything else that went wrong.
 */
function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version "errors" are successful exits; commander already printed usage errors
    return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
      ? 0
      : 2
  }
  if (err instanceof CliError) {
    if (err.message !== '') console.error(`Error: ${err.message}`)
    return err.exitCode
  }
  const e = err as { name?: string; message?: string; code?: string }
  console.error(`Error: ${e.message ?? String(err)}`)
  return 1
}
