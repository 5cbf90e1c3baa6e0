/** `swarmnet node ls|inspect|update|rm`, with docker's columns. */

import type { NodeView } from '@swarmnet/wire'
import { localApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { call } from '../client.js'
import { CliError } from '../errors.js'
import { printJson, printTable } from '../output.js'

const title = (s: string): string => (s ? s[0]?.toUpperCase() + s.slice(1) : '')

function nodeRows(nodes: readonly NodeView[]): string[][] {
  return nodes.map((n) => [
    n.self ? `${n.id} *` : n.id,
    n.hostname,
    title(n.status),
    title(n.availability),
    title(n.managerStatus),
    n.engineVersion,
  ])
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('Manage the cluster nodes')

  node
    .command('ls')
    .alias('list')
    .description('List the nodes of the cluster')
    .option('-q, --quiet', 'only display ids')
    .option('--format <format>', "'json' for machine output")
    .action(async (o: { quiet?: boolean; format?: string }) => {
      const nodes = await call(localApi.nodeList, {})
      if (o.format === 'json') return printJson(nodes)
      if (o.quiet) {
        for (const n of nodes) console.log(n.id)
        return
      }
      printTable(
        ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'],
        nodeRows(nodes),
      )
    })

  node
    .command('inspect')
    .description('Show details of one or more nodes (JSON)')
    .argument('<node...>', 'node id, id prefix or hostname')
    .action(async (refs: string[]) => {
      const out: NodeView[] = []
      for (const ref of refs) out.push(await call(localApi.nodeInspect, { ref }))
      printJson(out)
    })

  node
    .command('update')
    .description('Update a node')
    .requiredOption('--availability <state>', 'active, pause or drain')
    .argument('<node>', 'node id, id prefix or hostname')
    .action(async (ref: string, o: { availability: string }) => {
      if (!['active', 'pause', 'drain'].includes(o.availability))
        throw new CliError(`invalid availability '${o.availability}': expected active, pause or drain`, 2)
      const n = await call(localApi.nodeUpdate, {
        ref,
        availability: o.availability as NodeView['availability'],
      })
      console.log(n.id)
    })

  node
    .command('rm')
    .alias('remove')
    .description('Remove nodes from the cluster; their certificates are revoked')
    .option('-f, --force', 'remove even if the node is not down')
    .argument('<node...>', 'node id, id prefix or hostname')
    .action(async (refs: string[], o: { force?: boolean }) => {
      for (const ref of refs) {
        await call(localApi.nodeRemove, { ref, force: o.force === true })
        console.log(ref)
      }
    })
}
