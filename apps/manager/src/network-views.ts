/** What the API shows of networks and endpoints. */
import type { EndpointView, NetworkView } from '@swarmnet/wire'
import { DEFAULT_UNDERLAY_MTU, VXLAN_OVERHEAD } from './mtu.js'
import type { EndpointRecord, NetworkRecord } from './records.js'

export function networkView(n: NetworkRecord, endpoints: number, keyGeneration?: number): NetworkView {
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
    ...(keyGeneration !== undefined ? { keyGeneration } : {}),
    ...(n.ingress === true ? { ingress: true } : {}),
  }
}

export function endpointViewOf(e: EndpointRecord, n: NetworkRecord): EndpointView {
  return {
    id: e.id,
    network: networkSpecOf(n),
    ip: e.ip,
    prefix: e.prefix,
    mac: e.mac,
    node: e.node,
  }
}

/** What a node needs of a network to build its side of it (with an endpoint or a task). */
export function networkSpecOf(n: NetworkRecord): EndpointView['network'] {
  return {
    id: n.id,
    name: n.name,
    vni: n.vni,
    subnet: n.subnet,
    gateway: n.gateway,
    mtu: mtuOf(n),
    ...(n.encrypted ? { encrypted: true } : {}),
    ...(n.ingress === true ? { ingress: true as const } : {}),
  }
}

/** A network's MTU; networks created before MTUs were stored have Docker's 1450. */
export function mtuOf(n: NetworkRecord): number {
  return n.mtu ?? DEFAULT_UNDERLAY_MTU - VXLAN_OVERHEAD
}
