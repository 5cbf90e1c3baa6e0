#!/usr/bin/env node
/**
 * `swarmnet`: the commander CLI. The only code in the repository that prints for humans.
 * Each verb lives in commands/<verb>.ts and registers itself on the program.
 */
import { Command, CommanderError } from 'commander'
import { registerAgent } from './commands/agent.js'
import { registerCluster } from './commands/cluster.js'
import { registerLab } from './commands/lab.js'
import { registerNetwork } from './commands/network.js'
import { registerNode } from './commands/node.js'
import { registerService } from './commands/service.js'
import { registerVersion } from './commands/version.js'
import { registerWhoami } from './commands/whoami.js'
import { CliError } from './errors.js'
import { SWARMNET_VERSION } from './version.js'

const program = new Command('swarmnet')
  .description('Swarm-style cluster manager whose heart is the network')
  .version(SWARMNET_VERSION, '-v, --version-flag', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

/** [the verbs a module registers (space-separated, for readers), its register function] */
const registrations: Array<[string, (p: Command) => void]> = [
  ['version', registerVersion],
  ['agent', registerAgent],
  ['init join join-token leave info', registerCluster],
  ['node', registerNode],
  ['network endpoint', registerNetwork],
  ['service exec', registerService],
  ['lab', registerLab],
  ['whoami', registerWhoami],
]
for (const [, register] of registrations) register(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.exitCode = report(err)
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version "errors" are successful exits; commander already printed usage errors
    return err.exitCode === 0 || err.code === 'commander.helpDisplayed' ? 0 : 2
  }
  if (err instanceof CliError) {
    console.error(`Error: ${err.message}`)
    return err.exitCode
  }
  const e = err as { name?: string; message?: string; code?: string }
  console.error(`Error: ${e.message ?? String(err)}`)
  return 1
}
