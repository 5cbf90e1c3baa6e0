/**
 * `inspect --pretty`: Docker's human-readable forms of a service and a node (the fields
 * swarmnet has), one `Key: value` per line, sections indented as Docker indents them.
 */
import type { NodeView, ServiceViewJson } from '@swarmnet/wire'
import { title } from './output.js'

/** Aligned `Key:  value` lines (Docker's tabwriter), skipping absent values. */
function lines(rows: ReadonlyArray<readonly [string, string | undefined]>): string[] {
  const shown = rows.filter((r): r is readonly [string, string] => r[1] !== undefined)
  const width = Math.max(...shown.map(([k]) => k.length)) + 2
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`.trimEnd())
}

/** `service inspect --pretty`, with Docker's Ports section. */
export function prettyService(s: ServiceViewJson): string {
  const out = lines([
    ['ID', s.id],
    ['Name', s.name],
    ['Service Mode', title(s.mode)],
    [' Replicas', s.mode === 'replicated' ? String(s.desired) : undefined],
    ['Command', s.argv.join(' ')],
    ['Networks', s.networks.map((n) => n.name).join(' ') || undefined],
    ['Endpoint Mode', s.endpointMode],
  ])
  if (s.ports.length > 0) {
    out.push('Ports:')
    for (const p of s.ports)
      out.push(
        ` PublishedPort = ${p.publishedPort}`,
        `  Protocol = ${p.protocol}`,
        `  TargetPort = ${p.targetPort}`,
        `  PublishMode = ${p.publishMode}`,
      )
  }
  return out.join('\n')
}

/** `node inspect --pretty`, with the ingress ports a host process holds there. */
export function prettyNode(n: NodeView): string {
  return lines([
    ['ID', n.id],
    ['Hostname', n.hostname],
    ['Joined at', n.createdAt],
    ['Status', ''],
    [' State', title(n.status)],
    [' Availability', title(n.availability)],
    [' Address', n.addr],
    ['Manager Status', n.managerStatus === '' ? undefined : title(n.managerStatus)],
    ['Engine Version', n.engineVersion],
    [
      'Port Conflicts',
      n.portConflicts !== undefined && n.portConflicts.length > 0 ? n.portConflicts.join(', ') : undefined,
    ],
  ]).join('\n')
}

/** Prints each object's pretty form, a blank line between them (Docker's). */
export function printPretty<T>(render: (x: T) => string): (xs: readonly T[]) => void {
  return (xs) => console.log(xs.map(render).join('\n\n'))
}
