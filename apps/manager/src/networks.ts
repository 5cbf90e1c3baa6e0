/**
 * Overlay networks and their endpoint addresses: the allocation half (the ovmanager role).
 * Nodes only plumb; every VNI, subnet and address comes from here. The allocator's state is
 * written in the same store batch as the records it allocated for, and all mutations run
 * one at a time, so a failed write never leaves the two apart (the allocator is rebuilt from
 * the last committed snapshot).
 */
import type { Allocator, AllocatorSnapshot } from '@swarmnet/allocator'
import { createAllocator } from '@swarmnet/allocator'
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { ConflictError, serialQueue } from '@swarmnet/interface'
import type { TaskAttachment, VirtualIp } from '@swarmnet/orchestrator'
import type { BatchOp, Store } from '@swarmnet/store'
import type { EndpointView, NetworkView } from '@swarmnet/wire'
import { newId } from './ids.js'
import { networkMtu } from './mtu.js'
import { checkNetworkCreate, type NetworkCreate } from './network-create.js'
import { endpointViewOf, networkView } from './network-views.js'
import type { EndpointRecord, NetworkRecord } from './records.js'
import { resolveRef } from './refs.js'
import { allocateTaskAddresses, lbEndpointId, type TaskAddressRequest } from './task-addresses.js'

export type NetworkUsers = (
  networkId: string,
  options?: AbortOptions,
) => Promise<{ services: string[]; liveTasks: ReadonlySet<string> }>

export class NetworkService {
  private readonly store: Store
  private readonly clock: Clock
  private readonly logger: Logger
  /** The underlay MTUs the nodes report, for the default network MTU. */
  private readonly underlayMtus: (options?: AbortOptions) => Promise<number[]>
  private readonly keyGeneration: () => number | undefined
  private readonly networks
  private readonly endpoints
  private readonly state
  private readonly pool: { pools: string[]; size: number }
  private allocator: Allocator | undefined
  /** All allocator mutations, one at a time. */
  private readonly serial = serialQueue()

  /** Who uses a network besides bare endpoints: services naming it and tasks not over yet. */
  private readonly users: NetworkUsers
  private readonly nodeAddrs: (options?: AbortOptions) => Promise<string[]>

  constructor(
    c: {
      store: Store
      clock: Clock
      logger: Logger
      users: NetworkUsers
      /** The nodes' underlay addresses: no overlay subnet may contain one. */
      nodeAddrs: (options?: AbortOptions) => Promise<string[]>
      underlayMtus?: (options?: AbortOptions) => Promise<number[]>
      /** The IPsec keyring generation in use (network inspect). */
      keyGeneration?: () => number | undefined
    },
    pool: { pools: string[]; size: number },
  ) {
    this.users = c.users
    this.nodeAddrs = c.nodeAddrs
    this.store = c.store
    this.clock = c.clock
    this.logger = c.logger
    this.underlayMtus = c.underlayMtus ?? (async () => [])
    this.keyGeneration = c.keyGeneration ?? (() => undefined)
    this.pool = pool
    this.networks = c.store.table<NetworkRecord>('networks')
    this.endpoints = c.store.table<EndpointRecord>('endpoints')
    this.state = c.store.table<AllocatorSnapshot>('allocator')
  }

  private async alloc(options?: AbortOptions): Promise<Allocator> {
    if (this.allocator === undefined) {
      const snapshot = await this.state.get('state', options)
      this.allocator = createAllocator({
        defaultAddrPools: this.pool.pools,
        subnetSize: this.pool.size,
        ...(snapshot ? { snapshot } : {}),
      })
    }
    return this.allocator
  }

  /**
   * A mutation of the allocator, in the write queue, committed with the `ops` it returns in one
   * batch; on failure the allocator is rebuilt from the last committed snapshot.
   */
  transact<T>(
    fn: (a: Allocator) => { result: T; ops: Parameters<Store['batch']>[0] },
    options?: AbortOptions,
  ): Promise<T> {
    return this.serial(() => this.commit(fn, options))
  }

  /**
   * The cluster's ingress network, if it has one; kept in memory (every node's sync asks), and
   * dropped by each network create and remove (this class is the networks table's only writer).
   */
  async ingress(options?: AbortOptions): Promise<NetworkRecord | undefined> {
    this.ingressNetwork ??= this.allNetworks(options).then((all) => all.find((n) => n.ingress === true))
    return this.ingressNetwork.catch((err: unknown) => {
      this.ingressNetwork = undefined
      throw err
    })
  }

  private ingressNetwork: Promise<NetworkRecord | undefined> | undefined

  /** Runs a mutation of the allocator and commits its snapshot with `ops`; rolls back on failure. */
  private async commit<T>(
    fn: (a: Allocator) => { result: T; ops: Parameters<Store['batch']>[0] },
    options?: AbortOptions,
  ): Promise<T> {
    const a = await this.alloc(options)
    try {
      const { result, ops } = fn(a)
      await this.store.batch([...ops, this.state.putOp('state', a.snapshot())], options)
      return result
    } catch (err) {
      this.allocator = undefined
      throw err
    }
  }

  create(req: NetworkCreate, options?: AbortOptions): Promise<NetworkView> {
    return this.serial(async () => {
      const { encrypted } = checkNetworkCreate(req)
      const mtu = networkMtu(req.options.mtu, await this.underlayMtus(options), encrypted)
      const all = await this.allNetworks(options)
      if (all.some((n) => n.name === req.name))
        throw new ConflictError(`network with name ${req.name} already exists`)
      const id = newId()
      const avoid = await this.nodeAddrs(options)
      return this.commit((a) => {
        const got = a.allocateNetwork({
          id,
          name: req.name,
          avoid,
          ...(req.subnet !== undefined ? { subnet: req.subnet } : {}),
          ...(req.gateway !== undefined ? { gateway: req.gateway } : {}),
        })
        const rec: NetworkRecord = {
          id,
          name: req.name,
          driver: 'overlay',
          subnet: got.subnet,
          gateway: got.gateway,
          vni: got.vni,
          encrypted,
          attachable: req.attachable,
          createdAt: new Date(this.clock.now()).toISOString(),
          mtu,
          ...(req.ingress === true ? { ingress: true as const } : {}),
        }
        this.logger.info('network created', {
          network: id,
          name: req.name,
          vni: got.vni,
          subnet: got.subnet,
          encrypted,
        })
        return { result: this.view(rec, 0), ops: [this.networks.putOp(id, rec)] }
      }, options).finally(() => {
        this.ingressNetwork = undefined
      })
    })
  }

  async list(options?: AbortOptions): Promise<NetworkView[]> {
    const eps = await this.allEndpoints(options)
    return (await this.allNetworks(options))
      .map((n) => this.view(n, eps.filter((e) => e.networkId === n.id).length))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  async inspect(ref: string, options?: AbortOptions): Promise<NetworkView> {
    const n = await this.find(ref, options)
    const eps = await this.allEndpoints(options)
    return this.view(n, eps.filter((e) => e.networkId === n.id).length)
  }

  remove(ref: string, options?: AbortOptions): Promise<void> {
    return this.serial(async () => {
      const n = await this.find(ref, options)
      const users = await this.users(n.id, options)
      if (users.services.length > 0)
        throw new ConflictError(`network ${n.name} is in use by service(s) ${users.services.join(', ')}`)
      // addresses kept only until a node confirms a task's sandbox gone are not a use
      const inUse = (await this.allEndpoints(options)).filter(
        (e) => e.networkId === n.id && (e.task !== true || users.liveTasks.has(e.id)),
      )
      if (inUse.length > 0)
        throw new ConflictError(`network ${n.name} is in use by ${inUse.length} endpoint(s)`)
      await this.commit((a) => {
        a.releaseNetwork(n.id)
        return { result: undefined, ops: [this.networks.delOp(n.id)] }
      }, options)
      this.ingressNetwork = undefined
      this.logger.info('network removed', { network: n.id, name: n.name })
    })
  }

  /** An address on `networkRef` for endpoint `endpointId` of node `node`; idempotent per endpoint. */
  attach(
    node: string,
    networkRef: string,
    endpointId: string,
    options?: AbortOptions,
  ): Promise<EndpointView> {
    return this.serial(async () => {
      const n = await this.find(networkRef, options)
      const key = `${n.id}/${endpointId}`
      const existing = await this.endpoints.get(key, options)
      if (existing !== undefined) {
        if (existing.node !== node)
          throw new ConflictError(`endpoint id ${endpointId} is already in use on network ${n.name}`)
        return endpointViewOf(existing, n)
      }
      return this.commit((a) => {
        const got = a.allocateEndpoint(n.id, endpointId)
        const rec: EndpointRecord = {
          id: endpointId,
          networkId: n.id,
          node,
          ip: got.ip,
          prefix: Number(got.address.split('/')[1]),
          mac: got.mac,
        }
        return { result: endpointViewOf(rec, n), ops: [this.endpoints.putOp(key, rec)] }
      }, options)
    })
  }

  /** Releases every address of endpoint `endpointId` of `node`; idempotent. */
  async detach(node: string, endpointId: string, options?: AbortOptions): Promise<void> {
    const mine = (await this.allEndpoints(options)).filter((e) => e.id === endpointId && e.node === node)
    if (mine.length > 0) await this.release(mine, options)
  }

  /**
   * Allocates the addresses of tasks being assigned to nodes, one per network, and commits them
   * with the caller's `ops` (built from the result) in one batch. A task whose addresses cannot
   * all be had gets none, and its reason instead.
   */
  allocateTasks(
    requests: readonly TaskAddressRequest[],
    ops: (allocated: ReadonlyMap<string, TaskAttachment[]>, failed: ReadonlyMap<string, string>) => BatchOp[],
    options?: AbortOptions,
  ): Promise<{ allocated: Map<string, TaskAttachment[]>; failed: Map<string, string> }> {
    return this.serial(() =>
      this.commit((a) => {
        const { allocated, failed, records } = allocateTaskAddresses(a, requests)
        return {
          result: { allocated, failed },
          ops: [
            ...records.map((e) => this.endpoints.putOp(`${e.networkId}/${e.id}`, e)),
            ...ops(allocated, failed),
          ],
        }
      }, options),
    )
  }

  /**
   * Releases the task addresses of `node` that it no longer holds, unless their task is still
   * live. Addresses stay taken while a sandbox may still use them, so an IP/MAC is never handed
   * to a new task while an old FDB entry for it may still point elsewhere.
   */
  async releaseUnheld(
    node: string,
    held: ReadonlySet<string>,
    live: ReadonlySet<string>,
    options?: AbortOptions,
  ): Promise<void> {
    const stale = (await this.allEndpoints(options)).filter(
      (e) => e.task === true && e.node === node && !held.has(e.id) && !live.has(e.id),
    )
    if (stale.length > 0) await this.release(stale, options)
  }

  /** Releases the task addresses of `node` whose task is not live (the node is gone for long). */
  async releaseLost(node: string, live: ReadonlySet<string>, options?: AbortOptions): Promise<void> {
    await this.releaseUnheld(node, new Set(), live, options)
  }

  private release(records: readonly EndpointRecord[], options?: AbortOptions): Promise<void> {
    return this.serial(() =>
      this.commit((a) => {
        for (const e of records) a.releaseEndpoint(e.networkId, e.id)
        return {
          result: undefined,
          ops: records.map((e) => this.endpoints.delOp(`${e.networkId}/${e.id}`)),
        }
      }, options),
    )
  }

  /** Releases every endpoint address held by a removed node, and its LB addresses. */
  async releaseNode(node: string, options?: AbortOptions): Promise<void> {
    const mine = (await this.allEndpoints(options)).filter((e) => e.node === node)
    if (mine.length > 0) await this.release(mine, options)
    const networks = await this.allNetworks(options)
    await this.serial(() =>
      this.commit((a) => {
        for (const n of networks) a.releaseEndpoint(n.id, lbEndpointId(node))
        return { result: undefined, ops: [] }
      }, options),
    )
  }

  /** Frees a removed service's VIPs and published ports, committed with the caller's `ops` (its deletion). */
  releaseVips(serviceId: string, vips: readonly VirtualIp[], ops: BatchOp[], options?: AbortOptions) {
    return this.serial(() =>
      this.commit((a) => {
        for (const v of vips) a.releaseVip(v.networkId, serviceId)
        a.releasePorts(serviceId)
        return { result: undefined, ops }
      }, options),
    )
  }

  async find(ref: string, options?: AbortOptions): Promise<NetworkRecord> {
    return resolveRef('network', await this.allNetworks(options), ref, (n) => n.name)
  }

  async allNetworks(options?: AbortOptions): Promise<NetworkRecord[]> {
    return (await this.networks.list(options)).map((e) => e.value)
  }

  /** Every endpoint address record (service views show task addresses). */
  async allEndpoints(options?: AbortOptions): Promise<EndpointRecord[]> {
    return (await this.endpoints.list(options)).map((e) => e.value)
  }

  private view(n: NetworkRecord, endpoints: number): NetworkView {
    return networkView(n, endpoints, n.encrypted ? this.keyGeneration() : undefined)
  }
}
