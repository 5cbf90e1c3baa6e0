/** What the API shows of networks and endpoints. */
import type { EndpointView, NetworkView } from '@swarmnet/wire'
import { DEFAULT_UNDERLAY_MTU, VXLAN_OVERHEAD } from './mtu.js'
import type { EndpointRecord, NetworkRecord } from './records.js'

export function networkView(n: NetworkRecord, endpoints: number): NetworkView {
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    scope: 'swarm',
    subnet: n.subnet,
    gateway: n.gateway,
    vni: n.vni,
    encrypted: n.encrypted,
    attachable: n.attachable,
    internal: false,
    createdAt: n.createdAt,
    endpoints,
    mtu: mtuOf(n),
  }
}

export function endpointViewOf(e: EndpointRecord, n: NetworkRecord): EndpointView {
  return {
    id: e.id,
    network: { id: n.id, name: n.name, vni: n.vni, subnet: n.subnet, gateway: n.gateway, mtu: mtuOf(n) },
    ip: e.ip,
    prefix: e.prefix,
    mac: e.mac,
    node: e.node,
  }
}

/** A network's MTU; networks created before MTUs were stored have Docker's 1450. */
export function mtuOf(n: NetworkRecord): number {
  return n.mtu ?? DEFAULT_UNDERLAY_MTU - VXLAN_OVERHEAD
}
