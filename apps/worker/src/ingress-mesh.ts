/**
 * This node's ingress mesh as the network controller drives it: the ingress network's state
 * (persisted: a restarted agent serves its ports before the manager answers), the sockets
 * held on the published ports, and the desired ingress state built from the gossip (see
 * ingress.ts). A published port another process holds here is a conflict: reported, and
 * left to that process (not programmed on this node); the other nodes serve it.
 */
import type { Dataplane, IngressSpec, LoadBalancerSpec, ReconcileResult } from '@swarmnet/dataplane'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { Store } from '@swarmnet/store'
import type { EndpointView, PublishedPort } from '@swarmnet/wire'
import {
  heldPorts,
  hostPorts,
  type IngressState,
  ingressLoadBalancer,
  ingressSpec,
  publishedPorts,
} from './ingress.js'
import type { LocalEndpoint } from './local-endpoint.js'
import { PortHolder, portKey } from './port-holder.js'
import { lbServicesOf } from './service-table.js'
import { assignGatewayIps, type ServiceView } from './service-view.js'

export type { IngressState } from './ingress.js'

const KEY = 'state'

/** What the desired state takes of the mesh. */
export interface DesiredIngress {
  network: EndpointView['network']
  lb: LoadBalancerSpec
  spec: IngressSpec
}

export class IngressMesh {
  private state: IngressState | undefined
  private readonly table
  private readonly ports: PortHolder
  /** ingress ports (not host-mode ones) another process holds, as of the last desired state */
  private taken: string[] = []

  constructor(
    private readonly c: { store: Store; logger: Logger; dataplane: Dataplane },
    private readonly view: ServiceView,
  ) {
    this.table = c.store.table<IngressState>('ingress')
    this.ports = new PortHolder(c.logger)
  }

  async load(options?: AbortOptions): Promise<IngressState | undefined> {
    this.state = await this.table.get(KEY, options)
    this.view.ingressNetwork = this.state?.network.id
    return this.state
  }

  /** True when `next` is what this node holds already (every sync answer names it). */
  holds(next: Omit<IngressState, 'gatewayIp'>): boolean {
    const cur = this.state
    return (
      cur !== undefined && cur.lb === next.lb && JSON.stringify(cur.network) === JSON.stringify(next.network)
    )
  }

  get networkId(): string | undefined {
    return this.state?.network.id
  }

  /** The network every node is on and this node's LB address there. */
  get membership(): { networkId: string; lb: string } | undefined {
    return this.state === undefined ? undefined : { networkId: this.state.network.id, lb: this.state.lb }
  }

  /** The ingress namespace as a taker of a gateway-bridge address. */
  pseudo(): Array<{ gatewayIp?: string }> {
    return this.state?.gatewayIp !== undefined ? [{ gatewayIp: this.state.gatewayIp }] : []
  }

  /** A new state from the manager; false when it is the one held. Runs among the record writes. */
  async set(
    next: Omit<IngressState, 'gatewayIp'>,
    eps: readonly LocalEndpoint[],
    gateway: { address: string; subnet: string },
    options?: AbortOptions,
  ): Promise<boolean> {
    if (this.holds(next)) return false
    const cur = this.state
    const state: IngressState = { network: next.network, lb: next.lb }
    if (cur?.gatewayIp !== undefined) state.gatewayIp = cur.gatewayIp
    else assignGatewayIps([state, ...eps], gateway)
    await this.table.put(KEY, state, options)
    this.state = state
    this.view.ingressNetwork = state.network.id
    this.c.logger.info('ingress network', {
      network: state.network.id,
      lb: state.lb,
      gatewayIp: state.gatewayIp,
    })
    return true
  }

  /** The mesh's part of the desired state (the sockets follow it), or undefined before the manager named the ingress. */
  async desired(eps: readonly LocalEndpoint[], _options?: AbortOptions): Promise<DesiredIngress | undefined> {
    const st = this.state
    if (st?.gatewayIp === undefined) return undefined
    const table = this.view.table(st.network.id)
    const published = publishedPorts(table)
    const host = hostPorts(eps)
    const conflicts = await this.ports.hold(heldPorts(published, host))
    this.taken = published.map((p) => portKey(p.published, p.protocol)).filter((k) => conflicts.has(k))
    return {
      network: st.network,
      lb: ingressLoadBalancer(st, lbServicesOf(table)),
      spec: ingressSpec({ ...st, gatewayIp: st.gatewayIp }, published, host, conflicts),
    }
  }

  /** The fast path after a gossip change of the ingress network only. */
  async update(eps: readonly LocalEndpoint[], options?: AbortOptions): Promise<ReconcileResult | undefined> {
    const d = await this.desired(eps, options)
    return d === undefined ? undefined : await this.c.dataplane.updateIngress(d.spec, d.lb, options)
  }

  /** Why a task with these ports cannot start here: one of its host-mode ports is another process's. */
  hostPortConflict(ports: readonly PublishedPort[] | undefined): string | undefined {
    for (const p of ports ?? []) {
      const key = portKey(p.publishedPort, p.protocol)
      if (p.publishMode === 'host' && this.ports.conflicts.has(key))
        return `host-mode port ${key} is already in use on this node`
    }
    return undefined
  }

  /** Ingress ports another process holds on this node, sorted. */
  get conflicts(): string[] {
    return [...new Set(this.taken)].sort()
  }

  async close(): Promise<void> {
    await this.ports.close()
  }
}
