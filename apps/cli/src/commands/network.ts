/** `swarmnet network create|ls|inspect|rm`, and the internal `endpoint` verbs tests use. */

import { localApi, type NetworkView } from '@swarmnet/wire'
import type { Command } from 'commander'
import { collect, eachRef } from '../args.js'
import { call } from '../client.js'
import { CliError } from '../errors.js'
import { applyFilters, collectFilter, labelMatches, type Matcher, parseFilters } from '../filters.js'
import { type Column, inspectFormat, listFormat, printJson, printTable, shortId } from '../output.js'

export const NETWORK_COLUMNS: readonly Column<NetworkView>[] = [
  { field: 'ID', header: 'NETWORK ID', value: (n, full) => shortId(n.id, full) },
  { field: 'Name', header: 'NAME', value: (n) => n.name },
  { field: 'Driver', header: 'DRIVER', value: (n) => n.driver },
  { field: 'Scope', header: 'SCOPE', value: (n) => n.scope },
  { field: 'Subnet', header: 'SUBNET', value: (n) => n.subnet },
  { field: 'VNI', header: 'VNI', value: (n) => String(n.vni) },
  { field: 'MTU', header: 'MTU', value: (n) => String(n.mtu ?? '-') },
]

export const NETWORK_FILTERS: Readonly<Record<string, Matcher<NetworkView>>> = {
  id: (n, v) => n.id.startsWith(v),
  name: (n, v) => n.name.includes(v),
  label: (_n, v) => labelMatches(undefined, v),
  driver: (n, v) => n.driver === v,
}

/** `--opt k[=v]` values into an options object; bare keys mean `true`. */
function parseOpts(opts: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const o of opts) {
    const [k = '', ...v] = o.split('=')
    if (k.length === 0) throw new CliError(`invalid --opt '${o}': expected KEY[=VALUE]`, 2)
    out[k] = v.length === 0 ? 'true' : v.join('=')
  }
  return out
}

export function registerNetwork(program: Command): void {
  const network = program.command('network').description('Manage overlay networks')

  network
    .command('create')
    .description('Create an overlay network')
    .option('-d, --driver <driver>', 'network driver', 'overlay')
    .option('--subnet <cidr>', 'subnet in CIDR form (default: a /24 from the default pool)')
    .option('--gateway <ip>', 'gateway address inside the subnet (default: its first address)')
    .option('--attachable', 'allow endpoints outside services to attach')
    .option(
      '-o, --opt <key[=value]>',
      'driver option (repeatable): mtu=N (from 576; default: the smallest underlay MTU of the nodes − 50, − 76 and a multiple of 4 when encrypted); encrypted (vxlan in IPsec ESP between nodes; tasks only on nodes that can encrypt)',
      collect,
      [],
    )
    .argument('<name>', 'network name')
    .action(
      async (
        name: string,
        o: { driver: string; subnet?: string; gateway?: string; attachable?: boolean; opt: string[] },
      ) => {
        const n = await call(localApi.networkCreate, {
          name,
          driver: o.driver,
          ...(o.subnet !== undefined ? { subnet: o.subnet } : {}),
          ...(o.gateway !== undefined ? { gateway: o.gateway } : {}),
          attachable: o.attachable === true,
          options: parseOpts(o.opt),
        })
        console.log(n.id)
      },
    )

  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-q, --quiet', 'only display ids')
    .option('--format <format>', "json, table, 'table TEMPLATE' or a template such as '{{.Name}}'")
    .option('-f, --filter <key=value>', 'id=, name=, label=, driver= (repeatable)', collectFilter, [])
    .option('--no-trunc', 'do not cut ids')
    .action(async (o: { quiet?: boolean; format?: string; filter: string[]; trunc: boolean }) => {
      const filters = parseFilters(o.filter, NETWORK_FILTERS)
      const fmt = listFormat(o.format, NETWORK_COLUMNS)
      const nets = applyFilters(await call(localApi.networkList, {}), filters, NETWORK_FILTERS)
      fmt.print(nets, { quiet: o.quiet === true, noTrunc: !o.trunc, id: (n) => n.id })
    })

  network
    .command('inspect')
    .description('Show details of networks (JSON)')
    .option('-f, --format <format>', "'json' (default) or a template such as '{{.subnet}}'")
    .argument('<network...>', 'name, id or id prefix')
    .action(async (refs: string[], o: { format?: string }) => {
      const print = inspectFormat(o.format)
      const out = []
      for (const ref of refs) out.push(await call(localApi.networkInspect, { ref }))
      print(out)
    })

  network
    .command('rm')
    .alias('remove')
    .description('Remove networks that no endpoint uses')
    .argument('<network...>', 'name, id or id prefix')
    .action(async (refs: string[]) => eachRef(refs, (ref) => call(localApi.networkRemove, { ref })))

  network
    .command('rotate-key')
    .description('Rotate the keys of encrypted networks now (managers only; otherwise every 12 h)')
    .action(async () => {
      const res = await call(localApi.networkRotateKey, {})
      console.log(`Encryption keys rotated: generation ${res.generation}`)
    })

  const endpoint = program
    .command('endpoint')
    .description(
      '(internal) attach bare endpoints to overlay networks on this node; services do this for tasks',
    )
  endpoint
    .command('attach')
    .description('Create a network sandbox on this node attached to a network')
    .option('--id <id>', 'endpoint id (default: generated)')
    .option('--format <format>', "'json' for machine output")
    .argument('<network>', 'name, id or id prefix')
    .action(async (net: string, o: { id?: string; format?: string }) => {
      const e = await call(localApi.endpointAttach, { network: net, ...(o.id ? { id: o.id } : {}) }, 60_000)
      if (o.format === 'json') return printJson(e)
      console.log(`${e.id} ${e.ip}/${e.prefix} ${e.mac} netns ${e.namespace}`)
    })
  endpoint
    .command('detach')
    .description('Remove an endpoint sandbox from this node')
    .argument('<id>', 'endpoint id')
    .action(async (id: string) => {
      await call(localApi.endpointDetach, { id }, 60_000)
      console.log(id)
    })
  endpoint
    .command('ls')
    .description('List the endpoints of this node')
    .option('--format <format>', "'json' for machine output")
    .action(async (o: { format?: string }) => {
      const eps = await call(localApi.endpointList, {})
      if (o.format === 'json') return printJson(eps)
      printTable(
        ['ENDPOINT', 'NETWORK', 'IP', 'MAC', 'NAMESPACE'],
        eps.map((e) => [e.id, e.network.name, `${e.ip}/${e.prefix}`, e.mac, e.namespace]),
      )
    })
}
