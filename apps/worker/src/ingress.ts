/**
 * This node's part of the ingress routing mesh, as desired state (pure). Every node is on the
 * cluster's ingress network (the manager names it and this node's LB address there in every
 * sync answer) and has its ingress namespace (the LB namespace of that network, with a leg on
 * the gateway bridge). The published ports come from the gossip — the service-level record
 * of each service on the ingress network carries its ingress-mode ports — so every node
 * balances every published port over every running task, with no manager fan-out. Host-mode
 * ports come from this node's own tasks (their assignment) and lead straight to them.
 */
import type {
  HostPortSpec,
  IngressPortSpec,
  IngressSpec,
  LbServiceSpec,
  LoadBalancerSpec,
  RedirectSpec,
} from '@swarmnet/dataplane'
import type { EndpointView, PublishedPort } from '@swarmnet/wire'
import { type PortKey, portKey } from './port-holder.js'
import type { NetworkServices } from './service-table.js'
import { addressMac } from './service-view.js'

/** The ingress network and this node's place on it, persisted (a restarted agent keeps serving). */
export interface IngressState {
  network: EndpointView['network']
  /** this node's LB address on the ingress network (the SNAT source of mesh traffic) */
  lb: string
  /** the ingress namespace's address on the gateway bridge (published ports are DNATed to it) */
  gatewayIp?: string
}

/** The ports of one task that concern this node's kernel, as its endpoint keeps them. */
export type EndpointPorts = readonly PublishedPort[]

/** The ingress-mode ports of every service on the ingress network, from its gossiped table. */
export function publishedPorts(table: NetworkServices): IngressPortSpec[] {
  const out: IngressPortSpec[] = []
  for (const s of table.byName.values())
    for (const [published, , protocol] of s.ports ?? []) out.push({ protocol, published, serviceId: s.id })
  return out.sort((a, b) => a.published - b.published || a.protocol.localeCompare(b.protocol))
}

/** The ingress LB: every service of the ingress network, none yet → an LB with no services (the namespace exists). */
export function ingressLoadBalancer(state: IngressState, services: LbServiceSpec[]): LoadBalancerSpec {
  return { networkId: state.network.id, address: state.lb, mac: addressMac(state.lb), services }
}

/** The host-mode ports of this node's tasks. */
export function hostPorts(eps: ReadonlyArray<{ id: string; ports?: EndpointPorts }>): HostPortSpec[] {
  return eps.flatMap((e) =>
    (e.ports ?? [])
      .filter((p) => p.publishMode === 'host')
      .map((p) => ({
        protocol: p.protocol,
        published: p.publishedPort,
        target: p.targetPort,
        endpointId: e.id,
      })),
  )
}

/** The REDIRECT published → target a task needs on its ingress leg. */
export function redirectsOf(ports: EndpointPorts | undefined): RedirectSpec[] {
  return (ports ?? [])
    .filter((p) => p.publishMode !== 'host')
    .map((p) => ({ protocol: p.protocol, published: p.publishedPort, target: p.targetPort }))
}

/** The ports this node holds sockets on: every published ingress port, and its tasks' host-mode ports. */
export function heldPorts(ingress: readonly IngressPortSpec[], host: readonly HostPortSpec[]): Set<PortKey> {
  return new Set([...ingress, ...host].map((p) => portKey(p.published, p.protocol)))
}

/** The ingress spec for the dataplane: ports another process holds here are left to it. */
export function ingressSpec(
  state: IngressState & { gatewayIp: string },
  ports: readonly IngressPortSpec[],
  host: readonly HostPortSpec[],
  conflicts: ReadonlySet<PortKey>,
): IngressSpec {
  const free = (p: { published: number; protocol: 'tcp' | 'udp' }) =>
    !conflicts.has(portKey(p.published, p.protocol))
  return {
    networkId: state.network.id,
    gatewayIp: state.gatewayIp,
    ports: ports.filter(free),
    hostPorts: host.filter(free),
  }
}
