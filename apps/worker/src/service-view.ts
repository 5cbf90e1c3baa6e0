/**
 * This node's view of the services on its networks, for its load balancers and its DNS
 * resolver: one {@link NetworkServices} table per network, rebuilt from the netdb when that
 * network's entries change (so a DNS answer is a map lookup), and the index of the local
 * sandboxes by their gateway-bridge address, which is how the resolver knows which task
 * asks (every sandbox reaches the resolver through its own leg on the gateway bridge).
 */
import type { LoadBalancerSpec } from '@swarmnet/dataplane'
import { formatIpv4, macOf, parseCidr, parseIpv4 } from '@swarmnet/ipv4'
import type { Entry, Netdb } from '@swarmnet/netdb'
import type { LookupResult } from '@swarmnet/resolver'
import { lbServicesOf, lookupService, type NetworkServices, servicesOf } from './service-table.js'

/** What the view needs of a local endpoint. */
export interface ViewedEndpoint {
  readonly id: string
  readonly attachments: ReadonlyArray<{ readonly network: { readonly id: string }; readonly lb?: string }>
  readonly gatewayIp?: string
}

export class ServiceView {
  private readonly netdb: Netdb
  private readonly tables = new Map<string, NetworkServices>()
  private byGateway = new Map<string, ViewedEndpoint>()
  /** The ingress network: no service discovery there (Docker's too), tasks meet on it only through the mesh. */
  ingressNetwork: string | undefined

  constructor(netdb: Netdb) {
    this.netdb = netdb
  }

  /** The network's entries changed: its table is rebuilt when next read. */
  invalidate(networkId: string): void {
    this.tables.delete(networkId)
  }

  table(networkId: string): NetworkServices {
    let t = this.tables.get(networkId)
    if (t === undefined) {
      t = servicesOf(this.netdb.entries(networkId))
      this.tables.set(networkId, t)
    }
    return t
  }

  /** The local sandboxes, as now persisted (after every change of them). */
  setEndpoints(eps: readonly ViewedEndpoint[]): void {
    this.byGateway = new Map(eps.flatMap((e) => (e.gatewayIp === undefined ? [] : [[e.gatewayIp, e]])))
  }

  /** The resolver's question: `name` asked by the sandbox whose gateway-bridge address is `client`. */
  lookup(client: string, name: string): LookupResult {
    const ep = this.byGateway.get(client)
    if (ep === undefined) return undefined // not one of our tasks (the host itself): upstream
    const mine = new Set(ep.attachments.map((a) => a.network.id).filter((n) => n !== this.ingressNetwork))
    const shared = [...mine].map((n) => this.table(n))
    const known = (svc: string): boolean =>
      this.netdb.networks().some((n) => !mine.has(n) && this.table(n).byName.has(svc))
    return lookupService(name, shared, known)
  }

  /**
   * The load balancer of each network where this node has an LB address and the network has
   * a service with a VIP; the others have none (no namespace for a network without VIPs).
   */
  loadBalancers(eps: readonly ViewedEndpoint[]): LoadBalancerSpec[] {
    const addresses = lbAddresses(eps)
    return [...addresses.keys()].flatMap((n) => this.loadBalancer(n, eps, addresses) ?? [])
  }

  /** The load balancer of one network (see {@link loadBalancers}), or undefined. */
  loadBalancer(
    networkId: string,
    eps: readonly ViewedEndpoint[],
    addresses = lbAddresses(eps),
  ): LoadBalancerSpec | undefined {
    const address = addresses.get(networkId)
    if (address === undefined) return undefined
    const services = lbServicesOf(this.table(networkId))
    return services.length === 0 ? undefined : { networkId, address, mac: addressMac(address), services }
  }
}

/** This node's LB address per network, from its task endpoints' attachments. */
export function lbAddresses(eps: readonly ViewedEndpoint[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const e of eps) for (const a of e.attachments) if (a.lb !== undefined) out.set(a.network.id, a.lb)
  return out
}

/** The MAC swarmnet gives an address it publishes (LB address, VIP record): 02:42 + the IPv4 octets. */
export const addressMac = (address: string): string => macOf(parseIpv4(address) ?? 0)

/** Peers of the overlay: service-level records (VIPs) are not endpoints. */
export const overlayPeers = (entries: readonly Entry[]) =>
  entries.filter((e) => e.svc?.vip !== true).map((p) => ({ ip: p.ip, mac: p.mac, vtep: p.vtep }))

/**
 * Gives every endpoint without one a gateway-bridge address: the lowest free one of
 * `subnet` (not the bridge's own `address`). Returns the endpoints that got one.
 */
export function assignGatewayIps<E extends { gatewayIp?: string }>(
  eps: E[],
  gateway: { address: string; subnet: string },
): E[] {
  const cidr = parseCidr(gateway.subnet)
  if (cidr === undefined) throw new Error(`gateway subnet ${gateway.subnet} is not a CIDR`)
  const taken = new Set([gateway.address, ...eps.flatMap((e) => e.gatewayIp ?? [])])
  const last = cidr.ip + 2 ** (32 - cidr.prefix) - 1
  let next = cidr.ip + 1
  const changed: E[] = []
  for (const e of eps) {
    if (e.gatewayIp !== undefined) continue
    while (next < last && taken.has(formatIpv4(next))) next++
    if (next >= last) break
    e.gatewayIp = formatIpv4(next)
    taken.add(e.gatewayIp)
    changed.push(e)
  }
  return changed
}
