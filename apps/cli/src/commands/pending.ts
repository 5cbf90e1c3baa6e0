import type { Command } from 'commander'
import { CliError } from '../errors.js'

/**
 * Verbs whose issue has not landed yet: they are listed in --help and fail plainly.
 * Each moves out of this table into its own module when it is implemented.
 */
const pending: ReadonlyArray<readonly [verb: string, what: string]> = [
  ['init', 'Initialise a cluster with this node as its first manager'],
  ['join', 'Join this node to a cluster'],
  ['join-token', 'Show or rotate the join tokens'],
  ['leave', 'Leave the cluster'],
  ['node', 'Manage the cluster nodes'],
  ['network', 'Manage overlay networks'],
  ['service', 'Manage services'],
  ['exec', 'Run a command inside a task sandbox'],
  ['agent', 'Run the node agent'],
  ['whoami', 'Built-in HTTP workload for tests and demos'],
  ['info', 'Show this node and its kernel capabilities'],
]

export function registerPending(program: Command, implemented: ReadonlySet<string>): void {
  for (const [verb, what] of pending) {
    if (implemented.has(verb)) continue
    program
      .command(verb)
      .description(`${what} (not implemented yet)`)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .action(() => {
        throw new CliError(`'swarmnet ${verb}' is not implemented yet`, 3)
      })
  }
}
