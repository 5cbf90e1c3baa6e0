/**
 * `--publish` / `-p` (service create), `--publish-add` and `--publish-rm` (service update), in
 * Docker's forms: `8080:80`, `8080:80/udp`, `80` (target only: the manager allocates a published
 * port from 30000–32767), and `published=8080,target=80,protocol=udp,mode=host`. Every bad spec
 * is a usage error (exit 2) before the agent is asked.
 */
import type { PublishedPortRequest, PublishRm, ServiceViewJson } from '@swarmnet/wire'
import type { Command } from 'commander'
import { collect } from '../args.js'
import { CliError } from '../errors.js'
import type { ParsedOptions, SpecPatch, SpecPatchParser } from './service-update.js'

const usage = (what: string, spec: string, why: string) =>
  new CliError(`invalid ${what} '${spec}': ${why}`, 2)

function portNumber(what: string, spec: string, v: string | undefined, name: string): number {
  if (v === undefined || !/^\d{1,5}$/.test(v)) throw usage(what, spec, `${name} must be a port number`)
  const n = Number(v)
  if (n < 1 || n > 65535) throw usage(what, spec, `${name} ${n} is not in 1-65535`)
  return n
}

function protocolOf(what: string, spec: string, v: string): 'tcp' | 'udp' {
  if (v === 'tcp' || v === 'udp') return v
  throw usage(what, spec, `unknown protocol '${v}': expected tcp or udp`)
}

const LONG_KEYS = new Set(['published', 'target', 'protocol', 'mode'])

/** One `--publish` value. */
export function parsePublish(spec: string, what = '--publish'): PublishedPortRequest {
  if (spec.includes('=')) return parseLong(spec, what)
  const m = /^(?:([^:/]*):)?([^:/]*)(?:\/(.*))?$/.exec(spec)
  if (m === null) throw usage(what, spec, 'expected [PUBLISHED:]TARGET[/PROTOCOL]')
  const [, published, target, protocol] = m
  return {
    protocol: protocol === undefined ? 'tcp' : protocolOf(what, spec, protocol),
    targetPort: portNumber(what, spec, target, 'the target port'),
    ...(published !== undefined
      ? { publishedPort: portNumber(what, spec, published, 'the published port') }
      : {}),
    publishMode: 'ingress',
  }
}

function parseLong(spec: string, what: string): PublishedPortRequest {
  const fields = new Map<string, string>()
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=')
    const key = eq < 0 ? part : part.slice(0, eq)
    if (eq < 0 || !LONG_KEYS.has(key))
      throw usage(what, spec, `unknown field '${key}': expected published, target, protocol or mode`)
    if (fields.has(key)) throw usage(what, spec, `${key} is given twice`)
    fields.set(key, part.slice(eq + 1))
  }
  const mode = fields.get('mode') ?? 'ingress'
  if (mode !== 'ingress' && mode !== 'host')
    throw usage(what, spec, `unknown mode '${mode}': expected ingress or host`)
  const published = fields.get('published')
  // only ingress ports are allocated: a host port is opened on every node that runs a task
  if (mode === 'host' && published === undefined)
    throw usage(what, spec, 'mode=host needs a published port (published=PORT)')
  return {
    protocol: protocolOf(what, spec, fields.get('protocol') ?? 'tcp'),
    targetPort: portNumber(what, spec, fields.get('target'), 'the target port'),
    ...(published !== undefined
      ? { publishedPort: portNumber(what, spec, published, 'the published port') }
      : {}),
    publishMode: mode,
  }
}

/** One `--publish-rm` value: `PUBLISHED[/PROTOCOL]`. */
export function parsePublishRm(spec: string): PublishRm {
  const m = /^([^/]*)(?:\/(.*))?$/.exec(spec)
  const [, published, protocol] = m ?? []
  return {
    publishedPort: portNumber('--publish-rm', spec, published, 'the published port'),
    ...(protocol !== undefined ? { protocol: protocolOf('--publish-rm', spec, protocol) } : {}),
  }
}

/** `-p/--publish` of `service create`: the request's `ports`. */
export function registerPublish(cmd: Command): Command {
  return cmd.option(
    '-p, --publish <spec>',
    'publish a port: [PUBLISHED:]TARGET[/PROTO] or published=P,target=T,protocol=tcp|udp,mode=ingress|host (repeatable)',
    collect,
    [],
  )
}

/** The `ports` of a create request from the `--publish` values (none: no field). */
export function portsFromFlags(o: { publish?: string[] }): { ports?: PublishedPortRequest[] } {
  const ports = (o.publish ?? []).map((s) => parsePublish(s))
  return ports.length > 0 ? { ports } : {}
}

/** `--publish-add` / `--publish-rm` of `service update` (the manager applies them to the service's ports). */
export const publishParser: SpecPatchParser = {
  register: (cmd) =>
    cmd
      .option(
        '--publish-add <spec>',
        'publish a port, as --publish of service create (repeatable)',
        collect,
        [],
      )
      .option('--publish-rm <port>', 'stop publishing PUBLISHED[/PROTO] (repeatable)', collect, []),
  parse: (o: ParsedOptions): SpecPatch => {
    const add = ((o.publishAdd as string[] | undefined) ?? []).map((s) => parsePublish(s, '--publish-add'))
    const rm = ((o.publishRm as string[] | undefined) ?? []).map(parsePublishRm)
    return { ...(add.length > 0 ? { publishAdd: add } : {}), ...(rm.length > 0 ? { publishRm: rm } : {}) }
  },
}

/**
 * Docker's PORTS column of `service ls`: the ingress-mode ports only, by protocol then published
 * port, consecutive ones folded into ranges (`*:8080-8081->80-81/tcp`), joined by `, `.
 */
export function portsColumn(s: Pick<ServiceViewJson, 'ports'>): string {
  const sorted = s.ports
    .filter((p) => p.publishMode === 'ingress')
    .sort((a, b) =>
      a.protocol === b.protocol ? a.publishedPort - b.publishedPort : a.protocol < b.protocol ? -1 : 1,
    )
  const ranges: Array<{ protocol: string; p: [number, number]; t: [number, number] }> = []
  for (const port of sorted) {
    const r = ranges.at(-1)
    const isRange = r !== undefined && r.t[0] !== r.t[1]
    if (
      r === undefined ||
      r.protocol !== port.protocol ||
      port.publishedPort - r.p[1] > 1 ||
      // Docker subtracts unsigned: a target below the range's end starts a new one
      port.targetPort - r.t[1] > 1 ||
      port.targetPort < r.t[1] ||
      (isRange && port.targetPort <= r.t[1])
    )
      ranges.push({
        protocol: port.protocol,
        p: [port.publishedPort, port.publishedPort],
        t: [port.targetPort, port.targetPort],
      })
    else {
      r.p[1] = port.publishedPort
      r.t[1] = port.targetPort
    }
  }
  const span = ([a, b]: [number, number]) => (a === b ? `${a}` : `${a}-${b}`)
  return ranges.map((r) => `*:${span(r.p)}->${span(r.t)}/${r.protocol}`).join(', ')
}
