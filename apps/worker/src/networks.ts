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
import type { Netdb } from '@swarmnet/netdb'
import type { Store } from '@swarmnet/store'
import type { ApiTarget, EndpointView, Keyring } from '@swarmnet/wire'
import { callApi, managerApi } from '@swarmnet/wire'

export const RECONCILE_PERIOD_MS = 5_000

/** A local endpoint: one sandbox with one leg per attached network. */
export interface LocalEndpoint {
  id: string
  attachments: EndpointView[]
  /** A task's sandbox: its addresses came with the assignment and the manager releases them. */
  task?: boolean
}

/** A task sandbox to build: its id and the addresses the manager allocated for it. */
export interface SandboxRequest {
  id: string
  attachments: EndpointView[]
}

export interface NetworkControllerComponents {
  logger: Logger
  clock: Clock
  store: Store
  dataplane: Dataplane
  netdb: Netdb
  manager(): ApiTarget
  /** Drift check period. @default {@link RECONCILE_PERIOD_MS} */
  periodMs?: number
}

export class NetworkController {
  private readonly c: NetworkControllerComponents
  private readonly vtep: string
  private readonly local
  private readonly loop = new AbortController()
  private periodic: Periodic | undefined
  /** Reconciles, one at a time. */
  private readonly serial = serialQueue()
  private unwatch: (() => void) | undefined
  /** The IPsec keyring, as the manager last handed it (never persisted, never logged). */
  private keyring: Keyring | undefined
  /** Underlay addresses of the admitted nodes, once the manager told them. */
  private members: readonly string[] | undefined

  constructor(components: NetworkControllerComponents, vtep: string) {
    this.c = components
    this.vtep = vtep
    this.local = components.store.table<LocalEndpoint>('local-endpoints')
  }

  async start(options?: AbortOptions): Promise<void> {
    this.unwatch = this.c.netdb.on('change', () => this.wake())
    await this.c.netdb.start(options)
    const eps = await this.endpoints(options)
    for (const id of new Set(eps.flatMap((e) => e.attachments.map((a) => a.network.id)))) {
      await this.c.netdb.join(id, options)
      await this.publish(id, eps, options)
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
    const prev = await this.local.get(id, options)
    const attachments = [...(prev?.attachments ?? []).filter((a) => a.network.id !== got.network.id), got]
    await this.local.put(id, { id, attachments }, options)
    await this.c.netdb.join(got.network.id, options)
    await this.publish(got.network.id, await this.endpoints(options), options)
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
    for (const r of requests) {
      if ((await this.local.get(r.id, options)) === undefined) created.add(r.id)
      await this.local.put(r.id, { id: r.id, attachments: r.attachments, task: true }, options)
      for (const a of r.attachments) networks.add(a.network.id)
    }
    const eps = await this.endpoints(options)
    for (const n of networks) {
      await this.c.netdb.join(n, options)
      await this.publish(n, eps, options)
    }
    const result = await this.reconcileNow(options)
    const failed = new Map<string, string>()
    for (const r of requests) {
      const why = result.failed.get(endpointOwner(r.id))
      if (why !== undefined) failed.set(r.id, why)
    }
    return { created, failed }
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
    await this.unpublish(gone, options)
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
    await this.unpublish([ep], options)
    await this.reconcileNow(options)
    if (ep.task !== true) await callApi(this.c.manager(), managerApi.detach, { endpointId: id }, options)
  }

  /** Republishes the networks of removed endpoints, leaving those no endpoint uses any more. */
  private async unpublish(gone: readonly LocalEndpoint[], options?: AbortOptions): Promise<void> {
    const rest = await this.endpoints(options)
    for (const n of new Set(gone.flatMap((e) => e.attachments.map((a) => a.network.id)))) {
      await this.publish(n, rest, options)
      if (!rest.some((e) => e.attachments.some((x) => x.network.id === n)))
        await this.c.netdb.leave(n, options)
    }
  }

  /**
   * Applies the manager's view of node liveness: entries owned by a node that is down or no
   * longer a member are withdrawn; they come back through anti-entropy once it is ready.
   */
  async applyLiveness(
    self: string,
    status: ReadonlyMap<string, 'ready' | 'down' | 'unknown'>,
    options?: AbortOptions,
  ) {
    const networks = new Set(
      (await this.endpoints(options)).flatMap((e) => e.attachments.map((a) => a.network.id)),
    )
    const owners = new Set([...networks].flatMap((n) => this.c.netdb.entries(n).map((e) => e.node)))
    for (const node of owners) {
      if (node === self || status.get(node) === 'ready' || status.get(node) === 'unknown') continue
      this.c.logger.info('withdrawing entries of a node that is down or gone', { node })
      this.c.netdb.withdrawNode(node)
    }
    // the netdb remembers whom it withdrew; restoring a node it did not withdraw is a no-op
    for (const [node, st] of status) if (st === 'ready') await this.c.netdb.restoreNode(node, options)
  }

  private async endpoints(options?: AbortOptions): Promise<LocalEndpoint[]> {
    return (await this.local.list(options)).map((e) => e.value)
  }

  /** Publishes this node's full entry set for one network. */
  private async publish(networkId: string, eps: LocalEndpoint[], options?: AbortOptions): Promise<void> {
    const entries = eps.flatMap((e) =>
      e.attachments
        .filter((a) => a.network.id === networkId)
        .map((a) => ({ ip: a.ip, mac: a.mac, vtep: this.vtep })),
    )
    await this.c.netdb.setLocal(networkId, entries, options)
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

  /** Runs one reconcile after any in flight; attach/detach wait for their effect. */
  private reconcileNow(options?: AbortOptions): Promise<ReconcileResult> {
    return this.serial(() => this.reconcile(options))
  }

  private async reconcile(options?: AbortOptions): Promise<ReconcileResult> {
    return this.c.dataplane.reconcile(await this.desired(options), options)
  }

  async desired(options?: AbortOptions): Promise<DesiredState> {
    const eps = await this.endpoints(options)
    const networks = new Map<string, EndpointView['network']>()
    for (const e of eps) for (const a of e.attachments) networks.set(a.network.id, a.network)
    return {
      networks: [...networks.values()].map((n) => ({
        id: n.id,
        vni: n.vni,
        subnet: n.subnet,
        gateway: n.gateway,
        ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
        ...(n.encrypted === true ? { encrypted: true } : {}),
        peers: this.c.netdb.entries(n.id).map((p) => ({ ip: p.ip, mac: p.mac, vtep: p.vtep })),
      })),
      endpoints: eps.map((e) => ({
        id: e.id,
        attachments: e.attachments.map((a) => ({ networkId: a.network.id, ip: a.ip, mac: a.mac })),
      })),
      ...(this.members !== undefined ? { members: this.members } : {}),
      ...(this.keyring !== undefined
        ? { encryption: { keys: this.keyring.keys, primary: this.keyring.primary } }
        : {}),
    }
  }
}
