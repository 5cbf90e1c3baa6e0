/** `swarmnet service ls|ps`: docker's columns, `--filter`, `--format`, `--no-trunc`, `-q`. */
import { type ServiceViewJson, serviceApi, type TaskJson } from '@swarmnet/wire'
import type { Command } from 'commander'
import { call } from '../client.js'
import { applyFilters, collectFilter, labelMatches, type Matcher, parseFilters } from '../filters.js'
import { type Column, listFormat, shortId, title } from '../output.js'
import { portsColumn } from './publish-flags.js'

export const SERVICE_COLUMNS: readonly Column<ServiceViewJson>[] = [
  { field: 'ID', header: 'ID', value: (s, full) => shortId(s.id, full) },
  { field: 'Name', header: 'NAME', value: (s) => s.name },
  { field: 'Mode', header: 'MODE', value: (s) => s.mode },
  { field: 'Replicas', header: 'REPLICAS', value: (s) => s.replicas },
  { field: 'Command', header: 'COMMAND', value: (s) => s.argv.join(' ') },
  { field: 'Ports', header: 'PORTS', value: portsColumn },
]

export const SERVICE_FILTERS: Readonly<Record<string, Matcher<ServiceViewJson>>> = {
  id: (s, v) => s.id.startsWith(v),
  name: (s, v) => s.name.startsWith(v),
  label: (_s, v) => labelMatches(undefined, v),
  mode: (s, v) => s.mode === v,
}

/** docker's ERROR cell: quoted, cut to 30 characters with … unless --no-trunc. */
export function errorCell(error: string, noTrunc: boolean): string {
  if (error === '') return ''
  return noTrunc || error.length <= 30 ? `"${error}"` : `"${error.slice(0, 29)}…"`
}

export const TASK_COLUMNS: readonly Column<TaskJson>[] = [
  { field: 'ID', header: 'ID', value: (t, full) => shortId(t.id, full) },
  { field: 'Name', header: 'NAME', value: (t) => t.name },
  { field: 'Node', header: 'NODE', value: (t) => t.node },
  { field: 'DesiredState', header: 'DESIRED STATE', value: (t) => title(t.desiredState) },
  { field: 'CurrentState', header: 'CURRENT STATE', value: (t) => t.currentState },
  { field: 'Error', header: 'ERROR', value: (t, full) => errorCell(t.error, full) },
]

const ACCEPTED_OR_LATER = new Set(['accepted', 'preparing', 'starting', 'running'])

export const TASK_FILTERS: Readonly<Record<string, Matcher<TaskJson>>> = {
  id: (t, v) => t.id.startsWith(v),
  name: (t, v) =>
    t.name
      .replace(/^ \\_ /, '')
      .trim()
      .startsWith(v),
  node: (t, v) => t.node === v || (v.length > 0 && t.nodeId.startsWith(v)),
  'desired-state': (t, v) =>
    v === 'running'
      ? t.desiredState === 'running'
      : v === 'shutdown'
        ? t.desiredState !== 'running'
        : t.desiredState === 'running' && ACCEPTED_OR_LATER.has(t.state),
}

export function registerServiceList(service: Command): void {
  service
    .command('ls')
    .alias('list')
    .description('List services')
    .option('-q, --quiet', 'only display ids')
    .option('--format <format>', "json, table, 'table TEMPLATE' or a template such as '{{.Name}}'")
    .option(
      '-f, --filter <key=value>',
      'id=, name=, label=, mode=replicated|global (repeatable)',
      collectFilter,
      [],
    )
    .option('--no-trunc', 'do not cut ids')
    .action(async (o: { quiet?: boolean; format?: string; filter: string[]; trunc: boolean }) => {
      const filters = parseFilters(o.filter, SERVICE_FILTERS, { mode: ['replicated', 'global'] })
      const fmt = listFormat(o.format, SERVICE_COLUMNS)
      const list = applyFilters(await call(serviceApi.list, {}), filters, SERVICE_FILTERS)
      fmt.print(list, { quiet: o.quiet === true, noTrunc: !o.trunc, id: (s) => s.id })
    })

  service
    .command('ps')
    .description('List the tasks of services')
    .option('-q, --quiet', 'only display task ids')
    .option('--format <format>', "json, table, 'table TEMPLATE' or a template such as '{{.Name}}'")
    .option(
      '-f, --filter <key=value>',
      'id=, name=, node=, desired-state=running|shutdown|accepted (repeatable)',
      collectFilter,
      [],
    )
    .option('--no-trunc', 'do not cut ids and errors')
    .argument('<service...>', 'name or id')
    .action(
      async (refs: string[], o: { format?: string; quiet?: boolean; filter: string[]; trunc: boolean }) => {
        const filters = parseFilters(o.filter, TASK_FILTERS, {
          'desired-state': ['running', 'shutdown', 'accepted'],
        })
        const fmt = listFormat(o.format, TASK_COLUMNS)
        const tasks: TaskJson[] = []
        for (const ref of refs) tasks.push(...(await call(serviceApi.ps, { ref })))
        fmt.print(applyFilters(tasks, filters, TASK_FILTERS), {
          quiet: o.quiet === true,
          noTrunc: !o.trunc,
          id: (t) => t.id,
        })
      },
    )
}
