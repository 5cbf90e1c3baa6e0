/**
 * Validation of the ingress input (the ingress part of spec.ts): published ports unique by
 * (protocol, port) across ingress and host mode, the ingress network known and with a load
 * balancer (its namespace is the ingress namespace), redirects unique per leg.
 */
import { InvalidInputError } from '@swarmnet/interface'
import { assertIpv4, type Cidr, contains, ipToInt, networkBase } from './addr.js'
import type {
  CheckedIngress,
  CheckedLoadBalancer,
  CheckedNetwork,
  HostPortSpec,
  IngressPortSpec,
  IngressSpec,
  RedirectSpec,
} from './spec.js'

const isPort = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535

/** Checks protocol and published port. */
function checkPort(p: { protocol: unknown; published: unknown }, where: string): void {
  if (p.protocol !== 'tcp' && p.protocol !== 'udp')
    throw new InvalidInputError(`${where}: protocol must be tcp or udp: ${JSON.stringify(p.protocol)}`)
  if (!isPort(p.published)) throw new InvalidInputError(`${where}: published port must be 1-65535`)
}

const label = (p: { protocol: string; published: number }): string => `${p.protocol}/${p.published}`

const byProtoPort = (
  a: { protocol: string; published: number },
  b: { protocol: string; published: number },
): number => (a.protocol === b.protocol ? a.published - b.published : a.protocol < b.protocol ? -1 : 1)

/** Sorted by protocol then port; a list given in that order (the usual case) is not sorted again. */
function sortedBy<T extends { protocol: string; published: number }>(list: T[]): T[] {
  for (let i = 1; i < list.length; i++)
    if (byProtoPort(list[i - 1] as T, list[i] as T) > 0) return list.sort(byProtoPort)
  return list
}

/** A leg's redirects: valid ports, each (protocol, published) once; sorted. */
export function checkRedirects(list: readonly RedirectSpec[] | undefined, where: string): RedirectSpec[] {
  if (list === undefined) return []
  if (!Array.isArray(list as unknown)) throw new InvalidInputError(`${where}.redirects must be a list`)
  const seen = new Set<string>()
  const out = list.map((r, i) => {
    checkPort(r, `${where}.redirects[${i}]`)
    const key = label(r)
    if (!isPort(r.target))
      throw new InvalidInputError(`${where}.redirects[${i}]: target port must be 1-65535`)
    if (seen.has(key)) throw new InvalidInputError(`${where}: redirect of ${key} given twice`)
    seen.add(key)
    return { protocol: r.protocol, published: r.published, target: r.target }
  })
  return out.sort(byProtoPort)
}

/**
 * Ports of an ingress spec checked on their own (the network apart). A host-mode port whose
 * endpoint has no gateway leg here is not an error: the planner leaves it out with a warning
 * (a task's record may arrive before its sandbox).
 */
export function checkIngressPorts(spec: IngressSpec): {
  ports: IngressPortSpec[]
  hostPorts: HostPortSpec[]
} {
  if (!Array.isArray(spec.ports as unknown) || !Array.isArray(spec.hostPorts as unknown))
    throw new InvalidInputError('ingress: ports and hostPorts must be lists')
  // numbers, not strings: 10 000 ports are checked on every update
  const seen = new Set<number>()
  const once = (where: string, p: { protocol: string; published: number }): void => {
    const n = p.published + (p.protocol === 'udp' ? 65_536 : 0)
    if (seen.has(n)) throw new InvalidInputError(`${where}: ${label(p)} is published twice`)
    seen.add(n)
  }
  const ports = spec.ports.map((p, i) => {
    const where = `ingress.ports[${i}]`
    checkPort(p, where)
    once(where, p)
    if (typeof p.serviceId !== 'string' || p.serviceId.length === 0)
      throw new InvalidInputError(`${where}: empty service id`)
    return { protocol: p.protocol, published: p.published, serviceId: p.serviceId }
  })
  const hostPorts = spec.hostPorts.map((p, i) => {
    const where = `ingress.hostPorts[${i}]`
    checkPort(p, where)
    once(where, p)
    if (!isPort(p.target)) throw new InvalidInputError(`${where}: target port must be 1-65535`)
    if (typeof p.endpointId !== 'string' || p.endpointId.length === 0)
      throw new InvalidInputError(`${where}: empty endpoint id`)
    return { protocol: p.protocol, published: p.published, target: p.target, endpointId: p.endpointId }
  })
  return { ports: sortedBy(ports), hostPorts: sortedBy(hostPorts) }
}

/** The ingress of `desired`: its network known and carrying one of `loadBalancers`. */
export function checkIngress(
  spec: IngressSpec | undefined,
  networks: ReadonlyMap<string, CheckedNetwork>,
  loadBalancers: readonly CheckedLoadBalancer[],
): CheckedIngress | undefined {
  if (spec === undefined) return undefined
  const network = networks.get(spec.networkId)
  if (network === undefined)
    throw new InvalidInputError(`ingress: unknown network ${JSON.stringify(spec.networkId)}`)
  if (!loadBalancers.some((lb) => lb.network.id === network.id))
    throw new InvalidInputError(
      `ingress: network ${JSON.stringify(spec.networkId)} has no load balancer (give one, maybe with no services)`,
    )
  const gatewayIp = assertIpv4(spec.gatewayIp, 'ingress.gatewayIp')
  return { network, gatewayIp, ...checkIngressPorts(spec) }
}

/** The ingress namespace's gateway-bridge address must be a host address of the subnet, not the bridge's. */
export function checkIngressGatewayIp(ip: string, subnet: Cidr, bridge: string): void {
  const base = networkBase(subnet)
  const n = ipToInt(ip)
  const last = base + 2 ** (32 - subnet.prefix) - 1
  if (!contains(subnet, ip) || n === base || n === last || ip === bridge)
    throw new InvalidInputError(`ingress.gatewayIp ${ip}: not a free host address of the gateway subnet`)
}
