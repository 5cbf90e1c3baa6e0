/**
 * The service table of one network, built from its gossiped entries (Docker's endpoint
 * table, §5.1 of the reference): the manager's service-level records give each `vip`
 * service its VIP, the owners' task entries give its tasks. Pure: entries in, table out;
 * the load balancer specs and the resolver's answers are read from it.
 */
import type { LbServiceSpec } from '@swarmnet/dataplane'
import type { Entry } from '@swarmnet/netdb'
import type { LookupResult } from '@swarmnet/resolver'

export interface ServiceTask {
  readonly ip: string
  readonly node: string
  /** draining: out of the load balancers and DNS, its flows finish */
  readonly disabled: boolean
}

export interface ServiceOnNetwork {
  readonly id: string
  readonly name: string
  /** the VIP on this network (endpoint mode vip); absent for dnsrr */
  vip: string | undefined
  /** on the ingress network: its ingress-mode ports, [published, target, protocol], from its VIP record */
  ports?: ReadonlyArray<readonly [number, number, 'tcp' | 'udp']>
  readonly tasks: ServiceTask[]
}

export interface NetworkServices {
  /** by lowercase name */
  readonly byName: ReadonlyMap<string, ServiceOnNetwork>
  /** task alias (hostname, task name), lowercase → its IPs on this network */
  readonly aliases: ReadonlyMap<string, readonly string[]>
}

const key = (name: string): string => name.toLowerCase()

/** The table of one network's entries. */
export function servicesOf(entries: readonly Entry[]): NetworkServices {
  const byId = new Map<string, ServiceOnNetwork>()
  const aliases = new Map<string, string[]>()
  const get = (id: string, name: string): ServiceOnNetwork => {
    let s = byId.get(id)
    if (s === undefined) {
      s = { id, name, vip: undefined, tasks: [] }
      byId.set(id, s)
    }
    return s
  }
  for (const e of entries) {
    const svc = e.svc
    if (svc === undefined) continue
    const s = get(svc.id, svc.name)
    if (svc.vip === true) {
      s.vip = e.ip
      if (svc.ports !== undefined) s.ports = svc.ports
      continue
    }
    s.tasks.push({ ip: e.ip, node: e.node, disabled: svc.disabled === true })
    if (svc.disabled === true) continue
    for (const a of svc.aliases ?? []) aliases.set(key(a), [...(aliases.get(key(a)) ?? []), e.ip])
  }
  const byName = new Map<string, ServiceOnNetwork>()
  for (const s of [...byId.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    s.tasks.sort((a, b) => a.ip.localeCompare(b.ip))
    // two services cannot share a name; while a renamed one's records linger, the VIP wins
    const other = byName.get(key(s.name))
    if (other === undefined || (other.vip === undefined && s.vip !== undefined)) byName.set(key(s.name), s)
  }
  return { byName, aliases }
}

/** What the load balancer of this network balances: every service with a VIP, by id. */
export function lbServicesOf(table: NetworkServices): LbServiceSpec[] {
  const out: LbServiceSpec[] = []
  for (const s of table.byName.values()) {
    if (s.vip === undefined) continue
    out.push({
      id: s.id,
      vip: s.vip,
      backends: s.tasks.map((t) => ({ ip: t.ip, weight: t.disabled ? 0 : 1 })),
    })
  }
  return out.sort((a, b) => a.id.localeCompare(b.id))
}

const TASKS_PREFIX = 'tasks.'

/**
 * Answers `name` for a task attached to the networks of `shared` (their tables). `known`
 * tells whether a name is the cluster's at all on this node (a service of a network the task
 * does not share: NXDOMAIN); other names go upstream (undefined).
 */
export function lookupService(
  name: string,
  shared: readonly NetworkServices[],
  known: (name: string) => boolean,
): LookupResult {
  const n = key(name)
  const tasks = n.startsWith(TASKS_PREFIX) ? n.slice(TASKS_PREFIX.length) : undefined
  const ips = new Set<string>()
  let found = false
  for (const table of shared) {
    const s = table.byName.get(tasks ?? n)
    if (s !== undefined) {
      found = true
      if (tasks === undefined && s.vip !== undefined) ips.add(s.vip)
      else for (const t of s.tasks) if (!t.disabled) ips.add(t.ip)
      continue
    }
    const alias = tasks === undefined ? table.aliases.get(n) : undefined
    if (alias !== undefined) {
      found = true
      for (const ip of alias) ips.add(ip)
    }
  }
  if (found) return { kind: 'a', ips: [...ips] }
  return known(tasks ?? n) ? { kind: 'nxdomain' } : undefined
}

/** A network's services as `network inspect` shows them. */
export function servicesView(table: NetworkServices) {
  return [...table.byName.values()].map((s) => ({
    id: s.id,
    name: s.name,
    ...(s.vip !== undefined ? { vip: s.vip } : {}),
    tasks: s.tasks.map((t) => ({ ip: t.ip, node: t.node, draining: t.disabled })),
  }))
}
