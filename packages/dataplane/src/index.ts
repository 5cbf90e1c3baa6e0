/**
 * @packageDocumentation
 * The node's kernel network programming: overlay namespaces (bridge + vxlan + permanent
 * neighbour/FDB entries for remote peers), the gateway bridge with MASQUERADE, endpoint
 * sandboxes, and per network a service load balancer namespace (VIPs balanced by nftables
 * or IPVS, SNAT to the node's LB address), the ingress routing mesh (published ports DNATed
 * to the ingress network's LB namespace, host-mode ports to the task), the vxlan guard (member-only admission, cleartext of
 * encrypted VNIs dropped) and ESP between the VTEPs of encrypted networks. Desired state in, kernel observed with `ip -j`/`bridge -j`/`nft -j`,
 * pure planners compute an ordered plan of idempotent steps, one executor runs it in
 * batches (`ip -batch -`, `bridge -batch -`, `nft -f -`). Kernel names: see `names.ts`.
 *
 * @example
 * ```ts
 * import { createDataplane } from '@swarmnet/dataplane'
 * const dp = createDataplane({ logger }, { advertiseAddress: '192.0.2.1' })
 * await dp.reconcile({
 *   networks: [{ id: 'n1', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', peers }],
 *   endpoints: [{ id: 'task1', attachments: [{ networkId: 'n1', ip: '10.0.1.2' }] }],
 * })
 * await dp.setPeers('n1', peers) // the full set, whenever gossip changes it
 * // one network's service load balancer, from the spec applied last (nothing observed)
 * await dp.updateLoadBalancer('n1', { networkId: 'n1', address: '10.0.1.250', services })
 * // the ingress routing mesh: published ports balanced by the ingress network's LB namespace
 * await dp.updateIngress(
 *   { networkId: 'ingress', gatewayIp: '172.18.0.2', hostPorts: [],
 *     ports: [{ protocol: 'tcp', published: 8080, serviceId: 'web' }] },
 *   { networkId: 'ingress', address: '10.0.0.250', services: ingressServices },
 * )
 * ```
 */
import { type Dataplane, type DataplaneComponents, type DataplaneInit, LinuxDataplane } from './dataplane.js'

export type {
  Dataplane,
  DataplaneCapabilities,
  DataplaneComponents,
  DataplaneInit,
  ReconcileResult,
} from './dataplane.js'
export { CommandFailedError } from './errors.js'
export type { LbBackend } from './lb.js'
export {
  DEFAULT_GATEWAY_BRIDGE,
  lbNamespace,
  overlayNamespace,
  sandboxNamespace,
} from './names.js'
export type {
  FdbEntry,
  LinkState,
  NeighEntry,
  ObservedHost,
  ObservedNamespace,
  ObservedNode,
  RouteEntry,
  VxlanInfo,
} from './observe.js'
export type { IpvsDest, IpvsService, ObservedLbTable, ObservedLoadBalancer } from './observe-lb.js'
export type { ObservedGuard, ObservedXfrm, XfrmPolicy, XfrmStateKey } from './observe-xfrm.js'
export type { Plan, Step } from './plan.js'
export { describePlan, describeStep, endpointOwner, lbOwner, networkOwner } from './plan.js'
export type { KernelCapabilities } from './probe.js'
export type {
  AttachmentSpec,
  DesiredState,
  EncryptionKey,
  EncryptionSpec,
  EndpointSpec,
  HostPortSpec,
  IngressPortSpec,
  IngressSpec,
  LbBackendSpec,
  LbServiceSpec,
  LoadBalancerSpec,
  NetworkSpec,
  Peer,
  RedirectSpec,
} from './spec.js'

/** Creates the dataplane of this node (Linux, iproute2 + nftables). */
export function createDataplane(components: DataplaneComponents, init: DataplaneInit): Dataplane {
  return new LinuxDataplane(components, init)
}
