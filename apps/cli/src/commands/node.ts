/** `swarmnet node ls|inspect|update|rm`, with docker's columns. */

import type { NodeView } from '@swarmnet/wire'
import { localApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { collect, eachRef } from '../args.js'
import { call } from '../client.js'
import { CliError } from '../errors.js'
import { applyFilters, collectFilter, labelMatches, type Matcher, parseFilters } from '../filters.js'
import { type Column, inspectFormat, listFormat, title } from '../output.js'
import { prettyNode, printPretty } from '../pretty.js'

export const NODE_COLUMNS: readonly Column<NodeView>[] = [
  { field: 'ID', header: 'ID', value: (n) => n.id },
  { field: 'Self', header: 'SELF', value: (n) => String(n.self) },
  { field: 'Hostname', header: 'HOSTNAME', value: (n) => n.hostname },
  { field: 'Status', header: 'STATUS', value: (n) => title(n.status) },
  { field: 'Availability', header: 'AVAILABILITY', value: (n) => title(n.availability) },
  { field: 'ManagerStatus', header: 'MANAGER STATUS', value: (n) => title(n.managerStatus) },
  { field: 'EngineVersion', header: 'ENGINE VERSION', value: (n) => n.engineVersion },
]

export const NODE_FILTERS: Readonly<Record<string, Matcher<NodeView>>> = {
  id: (n, v) => n.id.startsWith(v),
  name: (n, v) => n.hostname.includes(v),
  label: (n, v) => labelMatches(n.labels, v),
  role: (n, v) => n.role === v,
}

/** docker's default `node ls` table: no SELF column, a `*` after this node's id. */
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

/** `--label-add K=V` (or `K`, an empty value, as Docker) → labels; a bad key is a usage error. */
export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const i = p.indexOf('=')
    const key = i < 0 ? p : p.slice(0, i)
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(key))
      throw new CliError(
        `invalid --label-add '${p}': expected KEY=VALUE (key: letters, digits, "_", ".", "-")`,
        2,
      )
    out[key] = i < 0 ? '' : p.slice(i + 1)
  }
  return out
}

/** `self` names this node (docker's `node inspect self`). */
async function resolveSelf(ref: string): Promise<string> {
  if (ref !== 'self') return ref
  const info = await call(localApi.info, {})
  if (info.nodeId === '') throw new CliError('this node is not in a cluster')
  return info.nodeId
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('Manage the cluster nodes')

  node
    .command('ls')
    .alias('list')
    .description('List the nodes of the cluster')
    .option('-q, --quiet', 'only display ids')
    .option('--format <format>', "json, table, 'table TEMPLATE' or a template such as '{{.Hostname}}'")
    .option(
      '-f, --filter <key=value>',
      'id=, name=, label=, role=manager|worker (repeatable)',
      collectFilter,
      [],
    )
    .action(async (o: { quiet?: boolean; format?: string; filter: string[] }) => {
      const filters = parseFilters(o.filter, NODE_FILTERS, { role: ['manager', 'worker'] })
      const fmt = listFormat(o.format, NODE_COLUMNS, {
        headers: ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'],
        rows: (nodes) => nodeRows(nodes),
      })
      const nodes = applyFilters(await call(localApi.nodeList, {}), filters, NODE_FILTERS)
      fmt.print(nodes, { quiet: o.quiet === true, id: (n) => n.id })
    })

  node
    .command('inspect')
    .description("Show details of one or more nodes (JSON); 'self' is this node")
    .option('-f, --format <format>', "'json' (default) or a template such as '{{.hostname}}'")
    .option('--pretty', "Docker's human-readable form (with the node's port conflicts)")
    .argument('<node...>', "node id, id prefix, hostname or 'self'")
    .action(async (refs: string[], o: { format?: string; pretty?: boolean }) => {
      if (o.pretty === true && o.format !== undefined)
        throw new CliError('--pretty conflicts with --format', 2)
      const print = o.pretty === true ? printPretty(prettyNode) : inspectFormat(o.format)
      const out: NodeView[] = []
      for (const ref of refs) out.push(await call(localApi.nodeInspect, { ref: await resolveSelf(ref) }))
      print(out)
    })

  node
    .command('update')
    .description('Update a node: its availability, its labels')
    .option('--availability <state>', 'active, pause or drain')
    .option('--label-add <key=value>', 'add or replace a node label (repeatable)', collect, [])
    .option('--label-rm <key>', 'remove a node label (repeatable)', collect, [])
    .argument('<node>', 'node id, id prefix or hostname')
    .action(async (ref: string, o: { availability?: string; labelAdd: string[]; labelRm: string[] }) => {
      if (o.availability !== undefined && !['active', 'pause', 'drain'].includes(o.availability))
        throw new CliError(`invalid availability '${o.availability}': expected active, pause or drain`, 2)
      if (o.availability === undefined && o.labelAdd.length === 0 && o.labelRm.length === 0)
        throw new CliError('nothing to update: give --availability, --label-add or --label-rm', 2)
      const labelAdd = parseLabels(o.labelAdd)
      const n = await call(localApi.nodeUpdate, {
        ref: await resolveSelf(ref),
        ...(o.availability !== undefined ? { availability: o.availability as NodeView['availability'] } : {}),
        ...(o.labelAdd.length > 0 ? { labelAdd } : {}),
        ...(o.labelRm.length > 0 ? { labelRm: o.labelRm } : {}),
      })
      console.log(n.id)
    })

  node
    .command('rm')
    .alias('remove')
    .description('Remove nodes from the cluster; their certificates are revoked')
    .option('-f, --force', 'remove even if the node is not down')
    .argument('<node...>', 'node id, id prefix or hostname')
    .action(async (refs: string[], o: { force?: boolean }) =>
      eachRef(refs, async (ref) =>
        call(localApi.nodeRemove, { ref: await resolveSelf(ref), force: o.force === true }),
      ),
    )
}
