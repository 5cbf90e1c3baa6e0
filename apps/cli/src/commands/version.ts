import type { Command } from 'commander'
import { printJson } from '../output.js'
import { SWARMNET_VERSION } from '../version.js'

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Show the swarmnet version')
    .option('--short', 'print only the version number')
    .option('--format <format>', "'json' for machine output")
    .action((opts: { short?: boolean; format?: string }) => {
      const info = {
        version: SWARMNET_VERSION,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      }
      if (opts.format === 'json') printJson(info)
      else if (opts.short === true) console.log(info.version)
      else console.log(`swarmnet ${info.version}\n node:     ${info.node}\n platform: ${info.platform}`)
    })
}
