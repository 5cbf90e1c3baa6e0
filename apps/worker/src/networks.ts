/**
 * The node's side of overlay networks: local endpoints (persisted, so a restarted agent
 * rebuilds them), their entries published through the netdb, and the dataplane driven from
 * desired state. One reconcile runs at a time; it is kicked by every change (attach, detach,
 * gossip) and runs at least every {@link RECONCILE_PERIOD_MS} to repair drift, so an entry
 * deleted by hand comes back within that period.
 *
 * Encrypted networks: the keyring (from the dispatcher session, kept in memory only) and the
 * admitted nodes' underlay addresses (from the heartbeat's membership) are part of the desired
 * state; each change of either kicks a reconcile.
 *
 * Order on attach: address from the manager → record persisted → netdb joined (subscribe
 * before publishing, so the snapshot answer is not missed) → local entry published →
 * kernel reconciled. Detach runs the reverse, and releases the address last.
 */
import type { Dataplane, DesiredState, ReconcileResult } from '@swarmnet/dataplane'
import { endpointOwner, sandboxNamespace } from '@swarmnet/dataplane'
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { NotFoundError, type Periodic, SwarmnetError, serialQueue, startPeriodic } from '@swarmnet/interface'
import type { LocalEntry, Netdb } from '@swarmnet/netdb'
import type { LookupResult } from '@swarmnet/resolver'
import type { Store } from '@swarmnet/store'
import type { ApiTarget, EndpointView, Keyring } from '@swarmnet/wire'
import { callApi, managerApi } from '@swarmnet/wire'
import { applyLiveness, GossipSync } from './gossip-sync.js'
import { IngressMesh, type IngressState } from './ingress-mesh.js'
import { desiredState, type LocalEndpoint, type SandboxRequest } from './local-endpoint.js'
import { EntryPublisher } from './publisher.js'
import { assignGatewayIps, overlayPeers, ServiceView } from './service-view.js'

export type { EndpointService, LocalAttachment, LocalEndpoint, SandboxRequest } from './local-endpoint.js'

export const RECONCILE_PERIOD_MS = 5_000

export interface NetworkControllerComponents {
  logger: Logger
  clock: Clock
  store: Store
  dataplane: Dataplane
  netdb: Netdb
  manager(): ApiTarget
  /** Drift check period. @default {@link RECONCILE_PERIOD_MS} */
  periodMs?: number
  /** Called after every reconcile (the resolver binds once the gateway bridge exists). */
  afterReconcile?: (options?: AbortOptions) => Promise<void>
}

export class NetworkController {
  private readonly c: NetworkControllerComponents
  private readonly vtep: string
  private readonly local
  private readonly loop = new AbortController()
  private periodic: Periodic | undefined
  /** Reconciles, one at a time. */
  private readonly serial = serialQueue()
  /**
   * Writes of local endpoint records, one at a time: a gateway-bridge address is chosen from
   * the records as persisted, so two bursts choosing side by side would pick the same one.
   */
  private readonly recordWrites = serialQueue()
  private readonly gossip = new GossipSync()
  private unwatch: (() => void) | undefined
  /** Service tables per network and the sandboxes by gateway address (DNS and LBs). */
  private readonly view: ServiceView
  private readonly pub: EntryPublisher
  /** The ingress network and this node's mesh (published ports, held sockets). */
  private readonly mesh: IngressMesh
  /** The IPsec keyring, as the manager last handed it (never persisted, never logged). */
  private keyring: Keyring | undefined
  /** Underlay addresses of the admitted nodes, once the manager told them. */
  private members: readonly string[] | undefined

  constructor(components: NetworkControllerComponents, vtep: string) {
    this.c = components
    this.vtep = vtep
    this.local = components.store.table<LocalEndpoint>('local-endpoints')
    this.view = new ServiceView(components.netdb)
    this.mesh = new IngressMesh(components, this.view)
    this.pub = new EntryPublisher(components.netdb, vtep, () => this.mesh.membership)
  }

  /** What the resolver answers `name` asked from sandbox address `client`. */
  lookup(client: string, name: string): LookupResult {
    return this.view.lookup(client, name)
  }

  /** The service table of a network as this node sees it (`network inspect`). */
  services(networkId: string) {
    return this.view.table(networkId)
  }

  async start(options?: AbortOptions): Promise<void> {
    this.unwatch = this.c.netdb.on('change', (networkId) => this.onGossip(networkId))
    await this.c.netdb.start(options)
    const eps = await this.endpoints(options)
    // sandboxes of an older agent get their gateway address recorded (the kernel follows)
    for (const e of assignGatewayIps(eps, this.c.dataplane.gateway)) await this.local.put(e.id, e, options)
    this.view.setEndpoints(eps)
    const ingress = await this.mesh.load(options)
    const joined = eps.flatMap((e) => e.attachments.map((a) => a.network.id))
    for (const id of new Set([...(ingress ? [ingress.network.id] : []), ...joined])) {
      await this.c.netdb.join(id, options)
      await this.pub.publish(id, eps, options)
    }
    this.periodic = startPeriodic({
      clock: this.c.clock,
      periodMs: this.c.periodMs ?? RECONCILE_PERIOD_MS,
      signal: this.loop.signal,
      tick: async (signal) => {
        await this.reconcileNow({ signal })
      },
      onError: (err) => this.c.logger.warn('reconcile failed', { err }),
    })
  }

  async stop(): Promise<void> {
    this.unwatch?.()
    this.loop.abort()
    await this.periodic?.done
    await this.serial(async () => undefined) // drains a reconcile still in flight
    await this.mesh.close()
    await this.c.netdb.stop()
  }

  /** Removes every kernel object of this node's networks (the node leaves the cluster). */
  async teardown(options?: AbortOptions): Promise<void> {
    await this.stop()
    await this.c.dataplane.teardown(options)
  }

  async list(options?: AbortOptions): Promise<Array<EndpointView & { namespace: string }>> {
    return (await this.endpoints(options)).flatMap((e) =>
      e.attachments.map((a) => ({ ...a, namespace: sandboxNamespace(e.id) })),
    )
  }

  async attach(
    network: string,
    id: string,
    options?: AbortOptions,
  ): Promise<EndpointView & { namespace: string }> {
    const got = await callApi(this.c.manager(), managerApi.attach, { network, endpointId: id }, options)
    await this.recordWrites(async () => {
      const prev = await this.local.get(id, options)
      const attachments = [...(prev?.attachments ?? []).filter((a) => a.network.id !== got.network.id), got]
      const ep: LocalEndpoint = { ...prev, id, attachments }
      if (ep.gatewayIp === undefined)
        assignGatewayIps(
          [ep, ...(await this.endpoints(options)), ...this.mesh.pseudo()],
          this.c.dataplane.gateway,
        )
      await this.local.put(id, ep, options)
    })
    await this.c.netdb.join(got.network.id, options)
    await this.pub.publish(got.network.id, await this.endpoints(options), options)
    const why = (await this.reconcileNow(options)).failed.get(endpointOwner(id))
    if (why !== undefined)
      throw new SwarmnetError(`endpoint ${id} could not be programmed: ${why}`, 'ERR_KERNEL')
    return { ...got, namespace: sandboxNamespace(id) }
  }

  /**
   * Builds the sandboxes of a burst of task starts in one reconcile: records persisted, each
   * network joined and published once, then the kernel programmed once. Returns the ids whose
   * sandbox did not exist before (what a failed start may undo) and those whose sandbox (or one
   * of its networks) could not be programmed, with why; the others are ready.
   */
  async prepare(
    requests: readonly SandboxRequest[],
    options?: AbortOptions,
  ): Promise<{ created: Set<string>; failed: Map<string, string> }> {
    const created = new Set<string>()
    const networks = new Set<string>()
    await this.recordWrites(async () => {
      const others = await this.endpoints(options)
      for (const r of requests) {
        const prev = await this.local.get(r.id, options)
        if (prev === undefined) created.add(r.id)
        const ep: LocalEndpoint = {
          id: r.id,
          attachments: r.attachments,
          task: true,
          // out of the load balancers and DNS until its process runs (enable)
          ...(r.service !== undefined ? { service: r.service, disabled: prev?.disabled ?? true } : {}),
          ...(prev?.gatewayIp !== undefined ? { gatewayIp: prev.gatewayIp } : {}),
          ...(r.ports !== undefined && r.ports.length > 0 ? { ports: r.ports } : {}),
        }
        if (ep.gatewayIp === undefined)
          assignGatewayIps([ep, ...others, ...this.mesh.pseudo()], this.c.dataplane.gateway)
        others.push(ep)
        await this.local.put(r.id, ep, options)
        for (const a of r.attachments) networks.add(a.network.id)
      }
    })
    const eps = await this.endpoints(options)
    for (const n of networks) {
      await this.c.netdb.join(n, options)
      await this.pub.publish(n, eps, options)
    }
    const result = await this.reconcileNow(options)
    const failed = new Map<string, string>()
    for (const r of requests) {
      const why = result.failed.get(endpointOwner(r.id)) ?? this.mesh.hostPortConflict(r.ports)
      if (why !== undefined) failed.set(r.id, why)
    }
    return { created, failed }
  }

  /**
   * The first half of a graceful stop: the tasks' entries are republished `disabled`, so every
   * node takes them out of its load balancers and DNS while they still run.
   */
  async disable(ids: readonly string[], options?: AbortOptions): Promise<void> {
    if (await this.setDisabled(ids, true, options)) await this.reconcileNow(options)
  }

  /** Tasks whose process runs: their entries join the load balancers and DNS everywhere. */
  async enable(ids: readonly string[], options?: AbortOptions): Promise<void> {
    await this.setDisabled(ids, false, options)
  }

  /** Sets the endpoints' flag and republishes their networks; false when nothing changed. */
  private async setDisabled(ids: readonly string[], disabled: boolean, options?: AbortOptions) {
    const networks = new Set<string>()
    for (const id of ids) {
      const ep = await this.local.get(id, options)
      if (ep === undefined || (ep.disabled === true) === disabled) continue
      const { disabled: _, ...rest } = ep
      await this.local.put(id, disabled ? { ...rest, disabled: true } : rest, options)
      for (const a of ep.attachments) networks.add(a.network.id)
    }
    const eps = await this.endpoints(options)
    for (const n of networks) await this.pub.publish(n, eps, options)
    return networks.size > 0
  }

  /** The service-level records this node publishes (on the manager's node: each service's VIP per network). */
  async setRecords(records: ReadonlyMap<string, LocalEntry[]>, options?: AbortOptions): Promise<void> {
    await this.pub.setRecords(records, await this.endpoints(options), options)
  }

  /** The ingress network and this node's LB address there, from the manager (every sync answer). */
  async setIngress(next: Omit<IngressState, 'gatewayIp'>, options?: AbortOptions): Promise<void> {
    if (this.mesh.holds(next)) return
    const eps = await this.recordWrites(async () => {
      const eps = await this.endpoints(options)
      return (await this.mesh.set(next, eps, this.c.dataplane.gateway, options)) ? eps : undefined
    })
    if (eps === undefined) return
    await this.c.netdb.join(next.network.id, options)
    await this.pub.publish(next.network.id, eps, options)
    this.wake()
  }

  /** Ingress ports a host process holds on this node (reported to the manager). */
  get portConflicts(): string[] {
    return this.mesh.conflicts
  }

  /**
   * Removes the sandboxes of tasks in one reconcile: entries withdrawn first, then the kernel
   * objects. Their addresses are released by the manager once this node stops reporting them.
   */
  async release(ids: readonly string[], options?: AbortOptions): Promise<void> {
    const gone: LocalEndpoint[] = []
    for (const id of ids) {
      const ep = await this.local.get(id, options)
      if (ep === undefined) continue
      gone.push(ep)
      await this.local.del(id, options)
    }
    if (gone.length === 0) return
    await this.pub.unpublish(gone, await this.endpoints(options), options)
    await this.reconcileNow(options)
  }

  /** Ids of the task sandboxes on this node. */
  async taskIds(options?: AbortOptions): Promise<string[]> {
    return (await this.endpoints(options)).filter((e) => e.task === true).map((e) => e.id)
  }

  async has(id: string, options?: AbortOptions): Promise<boolean> {
    return (await this.local.get(id, options)) !== undefined
  }

  namespaceOf(id: string): string {
    return sandboxNamespace(id)
  }

  async detach(id: string, options?: AbortOptions): Promise<void> {
    const ep = await this.local.get(id, options)
    if (ep === undefined) throw new NotFoundError(`no endpoint ${id} on this node`)
    await this.local.del(id, options)
    await this.pub.unpublish([ep], await this.endpoints(options), options)
    await this.reconcileNow(options)
    if (ep.task !== true) await callApi(this.c.manager(), managerApi.detach, { endpointId: id }, options)
  }

  /** Applies the manager's view of node liveness to the entries of this node's networks. */
  async applyLiveness(
    self: string,
    status: ReadonlyMap<string, 'ready' | 'down' | 'unknown'>,
    options?: AbortOptions,
  ) {
    const networks = new Set(
      (await this.endpoints(options)).flatMap((e) => e.attachments.map((a) => a.network.id)),
    )
    if (this.mesh.networkId !== undefined) networks.add(this.mesh.networkId)
    await applyLiveness(this.c.netdb, this.c.logger, networks, self, status, options)
  }

  private async endpoints(options?: AbortOptions): Promise<LocalEndpoint[]> {
    const eps = (await this.local.list(options)).map((e) => e.value)
    this.view.setEndpoints(eps)
    return eps
  }

  /** The keyring version held (the dispatcher asks for a newer one). */
  get keyVersion(): string | undefined {
    return this.keyring?.version
  }

  /** A new keyring from the manager: SAs follow at the next reconcile, kicked now. */
  setKeys(keyring: Keyring): void {
    if (keyring.version === this.keyring?.version) return
    this.keyring = keyring
    this.c.logger.info('encryption keys received', {
      generation: keyring.generation,
      primary: keyring.primary,
    })
    this.wake()
  }

  /** The admitted nodes' underlay addresses: vxlan from anyone else is dropped. */
  setMembers(addresses: readonly string[]): void {
    const next = [...new Set([this.vtep, ...addresses])].sort()
    if (this.members !== undefined && next.join() === this.members.join()) return
    this.members = next
    this.wake()
  }

  private wake(): void {
    this.periodic?.wake()
  }

  /** A network's entries changed: a whole reconcile, or a scoped update (gossip-sync.ts). */
  private onGossip(networkId: string): void {
    this.view.invalidate(networkId)
    if (this.gossip.classify(networkId, this.c.netdb.entries(networkId)) === 'full') {
      this.wake()
      return
    }
    if (!this.gossip.enqueue(networkId)) return
    this.serial(() => this.syncScoped(networkId)).catch((err: unknown) => {
      this.c.logger.warn('scoped network update failed; reconciling', { network: networkId, err })
      this.wake()
    })
  }

  /** The overlay's peers and the load balancer of one network, nothing else. */
  private async syncScoped(networkId: string): Promise<void> {
    this.gossip.started(networkId)
    const eps = await this.endpoints({ signal: this.loop.signal })
    const mesh = this.mesh.networkId === networkId
    if (!mesh && !eps.some((e) => e.attachments.some((a) => a.network.id === networkId))) return
    const options = { signal: this.loop.signal }
    const peers = overlayPeers(this.c.netdb.entries(networkId))
    const lb = mesh ? undefined : this.view.loadBalancer(networkId, eps)
    const results = [
      await this.c.dataplane.setPeers(networkId, peers, options),
      mesh
        ? await this.mesh.update(eps, options)
        : await this.c.dataplane.updateLoadBalancer(networkId, lb, options),
    ]
    if (results.some((r) => r !== undefined && r.failed.size > 0)) this.wake()
  }

  /** Runs one reconcile after any in flight; attach/detach wait for their effect. */
  private reconcileNow(options?: AbortOptions): Promise<ReconcileResult> {
    return this.serial(() => this.reconcile(options))
  }

  private async reconcile(options?: AbortOptions): Promise<ReconcileResult> {
    const result = await this.c.dataplane.reconcile(await this.desired(options), options)
    await this.c.afterReconcile?.(options)
    return result
  }

  async desired(options?: AbortOptions): Promise<DesiredState> {
    const eps = await this.endpoints(options)
    const ingress = await this.mesh.desired(eps, options)
    const lbs = this.view.loadBalancers(eps).filter((lb) => lb.networkId !== ingress?.network.id)
    if (ingress !== undefined) lbs.push(ingress.lb)
    return desiredState(eps, this.c.netdb, lbs, this.members, this.keyring, ingress)
  }
}
