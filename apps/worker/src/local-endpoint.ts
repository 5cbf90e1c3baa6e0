/**
 * A node's local endpoints as the agent keeps them (persisted), and what follows from them
 * alone: the entries this node gossips for a network, and their part of the desired state.
 */
import type {
  DesiredState,
  EndpointSpec,
  IngressSpec,
  LoadBalancerSpec,
  NetworkSpec,
  Peer,
} from '@swarmnet/dataplane'
import type { LocalEntry, Netdb } from '@swarmnet/netdb'
import type { EndpointView, Keyring, PublishedPort } from '@swarmnet/wire'
import { redirectsOf } from './ingress.js'
import { addressMac, lbAddresses, overlayPeers } from './service-view.js'

/** A network attachment; a task's carries its node's LB address on the network. */
export type LocalAttachment = EndpointView & { lb?: string }

/** The service a task's endpoint belongs to, as its entries name it. */
export interface EndpointService {
  id: string
  name: string
  /** the task's hostname and name */
  aliases: string[]
}

/** A local endpoint: one sandbox with one leg per attached network. */
export interface LocalEndpoint {
  id: string
  attachments: LocalAttachment[]
  /** A task's sandbox: its addresses came with the assignment and the manager releases them. */
  task?: boolean
  service?: EndpointService
  /** draining before a graceful stop: out of every load balancer and of DNS */
  disabled?: boolean
  /** its leg on the gateway bridge; the resolver knows the asking task by it */
  gatewayIp?: string
  /** a task's published ports (its service's): REDIRECTs on its ingress leg, host-mode DNAT (since 0.6) */
  ports?: PublishedPort[]
}

/** A task sandbox to build: its id and the addresses the manager allocated for it. */
export interface SandboxRequest {
  id: string
  attachments: LocalAttachment[]
  service?: EndpointService
  ports?: PublishedPort[]
}

/**
 * This node's full entry set for one network: its endpoints (a task's with its service), its
 * LB address there (remote backends answer it: it is the SNAT source), and the service-level
 * records it owns there.
 */
export function localEntries(
  networkId: string,
  eps: readonly LocalEndpoint[],
  vtep: string,
  records: readonly LocalEntry[],
  /** this node's LB address on the network when no endpoint names it (the ingress network) */
  lbAddress?: string,
): LocalEntry[] {
  const entries: LocalEntry[] = eps.flatMap((e) =>
    e.attachments
      .filter((a) => a.network.id === networkId)
      .map((a) => ({
        ip: a.ip,
        mac: a.mac,
        vtep,
        ...(e.service !== undefined
          ? {
              svc: {
                id: e.service.id,
                name: e.service.name,
                aliases: e.service.aliases,
                ...(e.disabled === true ? { disabled: true as const } : {}),
              },
            }
          : {}),
      })),
  )
  const lb = lbAddresses(eps).get(networkId) ?? lbAddress
  if (lb !== undefined) entries.push({ ip: lb, mac: addressMac(lb), vtep })
  return [...entries, ...records]
}

/** A network as the dataplane wants it, with its peers. */
export function networkSpec(n: EndpointView['network'], peers: readonly Peer[]): NetworkSpec {
  return {
    id: n.id,
    vni: n.vni,
    subnet: n.subnet,
    gateway: n.gateway,
    ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
    ...(n.encrypted === true ? { encrypted: true } : {}),
    peers,
  }
}

/** A sandbox as the dataplane wants it. */
export function endpointSpec(e: LocalEndpoint): EndpointSpec {
  return {
    id: e.id,
    attachments: e.attachments.map((a) => ({
      networkId: a.network.id,
      ip: a.ip,
      mac: a.mac,
      ...(a.network.ingress === true && e.ports !== undefined ? { redirects: redirectsOf(e.ports) } : {}),
    })),
    ...(e.gatewayIp !== undefined ? { gatewayIp: e.gatewayIp } : {}),
  }
}

/** The whole desired state of this node's networks: its sandboxes, their networks' peers, the LBs. */
export function desiredState(
  eps: readonly LocalEndpoint[],
  netdb: Pick<Netdb, 'entries'>,
  loadBalancers: LoadBalancerSpec[],
  members: readonly string[] | undefined,
  keyring: Keyring | undefined,
  /** the ingress network (every node is on it) and this node's mesh */
  ingress?: { network: EndpointView['network']; spec: IngressSpec },
): DesiredState {
  const networks = new Map<string, EndpointView['network']>()
  if (ingress !== undefined) networks.set(ingress.network.id, ingress.network)
  for (const e of eps) for (const a of e.attachments) networks.set(a.network.id, a.network)
  return {
    networks: [...networks.values()].map((n) => networkSpec(n, overlayPeers(netdb.entries(n.id)))),
    endpoints: eps.map(endpointSpec),
    loadBalancers,
    ...(members !== undefined ? { members } : {}),
    ...(keyring !== undefined ? { encryption: { keys: keyring.keys, primary: keyring.primary } } : {}),
    ...(ingress !== undefined ? { ingress: ingress.spec } : {}),
  }
}
