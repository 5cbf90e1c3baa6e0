/**
 * @packageDocumentation
 * The manager role: cluster CA and join tokens, node registry and liveness, the manager API
 * on TCP 2377. The node agent (apps/worker) creates it on manager nodes and wires in the
 * store and the PKI.
 *
 * @example
 * ```ts
 * const manager = createManager({ logger, clock, store, pki }, { listenHost: '0.0.0.0', listenPort: 2377, version })
 * await manager.start({ certPem, keyPem })
 * ```
 */
import { DefaultManager } from './manager.js'
import type { Manager, ManagerComponents, ManagerInit } from './types.js'

export { newId as newNodeId } from './ids.js'
export { DOWN_AFTER_PERIODS, HEARTBEAT_PERIOD_MS } from './manager.js'
export type { NetworkCreate } from './network-create.js'
export type { NetworkService } from './networks.js'
export type { ClusterRecord, EndpointRecord, NetworkRecord, NodeRecord } from './records.js'
export type { PlacementChange, ServiceCreate } from './service-requests.js'
export type { ServiceController } from './services.js'
export { ORCHESTRATE_PERIOD_MS } from './services.js'
export type { BootstrapInit, Manager, ManagerComponents, ManagerInit } from './types.js'

export function createManager(components: ManagerComponents, init: ManagerInit): Manager {
  return new DefaultManager(components, init)
}
