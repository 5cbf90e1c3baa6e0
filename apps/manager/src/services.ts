/**
 * Services and their tasks on the manager: the orchestrator loop and the dispatcher.
 *
 * The loop runs the pure orchestrator (reconcile, then schedule) over the stored services,
 * tasks (from the in-memory index, task-index.ts) and nodes and writes its changes in one
 * batch. It is woken by every change; its {@link ORCHESTRATE_PERIOD_MS} tick does a pass only
 * when a node's status or availability changed or a task waits for its restart delay, so an
 * idle cluster costs the manager one node listing per tick. The dispatcher (dispatcher.ts) is
 * the other half: each node's sync, its reports in and its assignment changes out.
 */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { type Periodic, serialQueue, startPeriodic } from '@swarmnet/interface'
import type { Node, Orchestrator, PlacementFilter, Service, Task } from '@swarmnet/orchestrator'
import { createOrchestrator, hasIngressPorts, isTerminal, replacePlacement } from '@swarmnet/orchestrator'
import type { BatchOp, Store } from '@swarmnet/store'
import type { ServiceViewJson, TaskJson } from '@swarmnet/wire'
import { logTransitions } from './dispatch.js'
import { Dispatcher, type KeySource } from './dispatcher.js'
import { newId } from './ids.js'
import { IngressLbs } from './ingress.js'
import { type LogsRequest, serviceLogs, type TaskLogs } from './logs.js'
import { LostAddresses } from './lost-addresses.js'
import type { NetworkService } from './networks.js'
import { NodeStatusLog } from './node-status-log.js'
import { resolveRef } from './refs.js'
import { createService } from './service-create.js'
import { ingressPortTuples, publishWrite, taskNetworks } from './service-ports.js'
import type { PlacementChange, ServiceCreate, ServiceUpdate } from './service-requests.js'
import { serviceView, taskRows } from './service-views.js'
import { rollOut, type SpecChange, storeSpecChange } from './spec-changes.js'
import { TaskIndex } from './task-index.js'

export const ORCHESTRATE_PERIOD_MS = 1_000
/** An idle orchestrator still does a whole pass every this many ticks. */
const FULL_PASS_EVERY = 10

export interface ServicesComponents {
  store: Store
  clock: Clock
  logger: Logger
  networks: NetworkService
  /** Orchestrator pass when nothing wakes it. @default {@link ORCHESTRATE_PERIOD_MS} */
  periodMs?: number
  /** Current nodes with their observed status (and since when a Down node is down). */
  nodes(options?: AbortOptions): Promise<Array<Node & { downSince?: number }>>
  /** The IPsec keyring the dispatcher hands to the nodes. @default none */
  keys?: KeySource
  /** What services need of nodes beyond Ready and Active (encrypted networks: ESP). */
  placement?(options?: AbortOptions): Promise<PlacementFilter>
}

export class ServiceController {
  private readonly c: ServicesComponents
  private readonly orch: Orchestrator = createOrchestrator()
  private readonly services
  private readonly tasks
  private readonly loop = new AbortController()
  private periodic: Periodic | undefined
  /** All writes of services and tasks, one at a time. */
  private readonly serial = serialQueue()
  /** Tasks in memory, from the store's change feed. */
  private readonly index: TaskIndex
  readonly dispatcher: Dispatcher
  /** Each node's LB address on the ingress network (its sync answer's `ingress`). */
  private readonly ingressLbs: IngressLbs

  constructor(components: ServicesComponents) {
    this.c = components
    this.ingressLbs = new IngressLbs(components.networks)
    this.lost = new LostAddresses(components.clock, components.networks)
    this.services = components.store.table<Service>('services')
    this.tasks = components.store.table<Task>('tasks')
    this.index = new TaskIndex(this.tasks, (nodeId) => this.dispatcher.nodeChanged(nodeId))
    this.dispatcher = new Dispatcher({
      store: components.store,
      clock: components.clock,
      logger: components.logger,
      networks: components.networks,
      ...(components.keys !== undefined ? { keys: components.keys } : {}),
      orchestrator: this.orch,
      tasks: this.tasks,
      services: this.services,
      index: this.index,
      serial: (fn) => this.serial(fn),
      wake: () => this.wake(),
      ingress: (nodeId, o) => this.ingressLbs.of(nodeId, o),
    })
  }

  start(): void {
    this.periodic = startPeriodic({
      clock: this.c.clock,
      periodMs: this.c.periodMs ?? ORCHESTRATE_PERIOD_MS,
      signal: this.loop.signal,
      tick: (signal) => this.serial(() => this.orchestrate(signal)),
      onError: (err) => this.c.logger.warn('orchestration failed', { err }),
    })
  }

  async stop(): Promise<void> {
    this.loop.abort()
    await this.periodic?.done
    this.index.close()
  }

  private wake(): void {
    this.dirty = true
    this.periodic?.wake()
  }

  private readonly listeners = new Set<() => void>()

  /** Calls `listener` after a service is created or removed (its VIPs came or went). */
  onServicesChanged(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Every service's VIP per network: the service-level records the manager's node gossips; the
   * one on the ingress network carries the ingress-mode ports ([published, target, protocol]).
   */
  async vipRecords(options?: AbortOptions) {
    const ingressId = (await this.c.networks.ingress(options))?.id
    return (await this.allServices(options)).flatMap((s) =>
      (s.virtualIps ?? []).map((v) => ({
        networkId: v.networkId,
        serviceId: s.id,
        name: s.name,
        ip: v.ip,
        ...(v.networkId === ingressId ? { ports: ingressPortTuples(s.spec.ports) } : {}),
      })),
    )
  }

  /** Something changed since the last pass (or the first pass is still to come). */
  private dirty = true
  /** Node status and availability at the last pass. */
  private nodesSeen = ''
  /** Node labels, capabilities and capacity at the last pass. */
  private placementSeen = ''
  private ticks = 0

  async create(req: ServiceCreate, options?: AbortOptions): Promise<ServiceViewJson> {
    const result = await this.serial(async () =>
      createService(
        { ...this.c, orch: this.orch, services: this.services },
        req,
        await this.allServices(options),
        options,
      ),
    )
    this.wake()
    for (const l of this.listeners) l()
    return this.view(result, options)
  }

  async list(options?: AbortOptions): Promise<ServiceViewJson[]> {
    const out = []
    for (const s of await this.allServices(options)) out.push(await this.view(s, options))
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  async inspect(ref: string, options?: AbortOptions): Promise<ServiceViewJson> {
    return this.view(await this.find(ref, options), options)
  }

  async scale(ref: string, replicas: number, options?: AbortOptions): Promise<ServiceViewJson> {
    const svc = await this.serial(async () => {
      const before = await this.find(ref, options)
      const s = this.orch.scaleService(before, replicas, this.c.clock.now())
      await this.services.put(s.id, s, options)
      const from = 'replicated' in before.mode ? before.mode.replicated.replicas : undefined
      this.c.logger.info('service scaled', { service: s.id, name: s.name, from, to: replicas })
      return s
    })
    this.wake()
    return this.view(svc, options)
  }

  /**
   * Replaces a service's placement (constraints, preferences, max per node) and resources
   * (limits, reservations) as a whole: the next pass moves the tasks whose node no longer
   * fits and places the rest under the new rules. `service update` builds the change with the
   * CLI's applyPlacementUpdate.
   */
  async updatePlacement(ref: string, change: PlacementChange, options?: AbortOptions) {
    return this.changeSpec(
      ref,
      (s, now) => replacePlacement(s, change, now),
      'service placement changed',
      options,
    )
  }

  /**
   * `service update`: the patched spec is stored (the old one kept for rollback) and the
   * orchestrator's updater rolls the tasks over to it.
   */
  async update(ref: string, req: ServiceUpdate, options?: AbortOptions): Promise<ServiceViewJson> {
    const { publishAdd, publishRm, ...patch } = req
    const publishing = publishAdd !== undefined || publishRm !== undefined
    const c = { ...this.c, orch: this.orch, services: this.services, all: this.allServices.bind(this) }
    const write = publishing ? publishWrite(c, patch, publishAdd, publishRm, options) : undefined
    const change: SpecChange = (s, now) => this.orch.updateService(s, patch, now)
    const svc = await this.changeSpec(ref, change, 'service updated', options, write)
    // the VIP records may have changed (ports, the ingress VIP)
    if (publishing) for (const l of this.listeners) l()
    return svc
  }

  /** `service rollback`: back to the previous spec, rolled out like an update. */
  async rollback(ref: string, options?: AbortOptions): Promise<ServiceViewJson> {
    return this.changeSpec(ref, (s, now) => this.orch.rollbackService(s, now), 'service rolled back', options)
  }

  /** Stores the changed spec in the write queue, then wakes the updater (spec-changes.ts). */
  private async changeSpec(
    ref: string,
    change: SpecChange,
    what: string,
    options?: AbortOptions,
    write?: (before: Service) => (s: Service, ops: BatchOp[]) => Promise<Service>,
  ) {
    const c = {
      ...this.c,
      services: this.services,
      tasks: this.tasks,
      serviceTasks: this.serviceTasks.bind(this),
    }
    const svc = await this.serial(async () => {
      const before = await this.find(ref, options)
      return storeSpecChange(c, before, change, what, options, write?.(before))
    })
    this.wake()
    return this.view(svc, options)
  }

  async remove(ref: string, options?: AbortOptions): Promise<void> {
    await this.serial(async () => {
      const s = await this.find(ref, options)
      await this.c.networks.releaseVips(s.id, s.virtualIps ?? [], [this.services.delOp(s.id)], options)
      this.c.logger.info('service removed', { service: s.id, name: s.name })
    })
    this.wake()
    for (const l of this.listeners) l()
  }

  /** Services that name a network, and the tasks not over yet (their addresses are in use). */
  async networkUsers(networkId: string, options?: AbortOptions) {
    // a service publishing an ingress port is on the ingress network without naming it
    const ingress = (await this.c.networks.ingress(options))?.id === networkId
    const services = (await this.allServices(options)).filter(
      (s) => s.spec.networks.includes(networkId) || (ingress && hasIngressPorts(s.spec.ports)),
    )
    const liveTasks = new Set(
      (await this.allTasks(options)).filter((t) => !isTerminal(t.state)).map((t) => t.id),
    )
    return { services: services.map((s) => s.name), liveTasks }
  }

  async ps(ref: string, options?: AbortOptions): Promise<TaskJson[]> {
    const svc = await this.find(ref, options)
    const tasks = await this.serviceTasks(svc.id, options)
    const nodes = await this.c.nodes(options)
    const nets = new Map((await this.c.networks.allNetworks(options)).map((n) => [n.id, n.name]))
    return taskRows(this.orch, svc, tasks, nodes, nets, this.c.clock.now())
  }

  /** The kept output of every attempt of a service, or of one task (logs.ts). */
  async logs(req: LogsRequest, options?: AbortOptions): Promise<TaskLogs[]> {
    return serviceLogs(
      {
        ps: (ref, o) => this.ps(ref, o),
        tasks: (o) => this.allTasks(o),
        waitLogs: (wanted, o) => this.dispatcher.waitLogs(wanted, o),
      },
      req,
      options,
    )
  }

  /**
   * One pass when something asks for it: a change, a node's status or availability, a task
   * waiting (restart delay, no node yet), or every {@link FULL_PASS_EVERY} ticks (the grace
   * period of lost addresses).
   */
  private async orchestrate(signal: AbortSignal): Promise<void> {
    const nodes = await this.c.nodes({ signal })
    const nodesNow = nodes.map((n) => `${n.id}:${n.status}:${n.availability}`).join()
    // labels, capabilities and capacity count too: a label change may move tasks (misfits)
    const placementNow = JSON.stringify(nodes.map((n) => [n.labels, n.capabilities, n.resources]))
    this.ticks = (this.ticks + 1) % FULL_PASS_EVERY
    const placementChanged = placementNow !== this.placementSeen
    this.placementSeen = placementNow
    if (!this.dirty && !placementChanged && nodesNow === this.nodesSeen && this.ticks !== 0) return
    if (nodesNow !== this.nodesSeen && this.nodesSeen !== '') this.dispatcher.membershipChanged()
    this.dirty = false
    this.nodesSeen = nodesNow
    try {
      await this.pass(nodes, signal)
    } catch (err) {
      this.dirty = true
      throw err
    }
    this.dirty ||=
      this.rolling ||
      this.index
        .all()
        .some((t) => t.desiredState === 'running' && (t.state === 'pending' || isTerminal(t.state)))
  }

  /** A rolling update was in progress at the last pass: the next tick does a pass too. */
  private rolling = false

  private async pass(nodes: Array<Node & { downSince?: number }>, signal: AbortSignal): Promise<void> {
    const now = this.c.clock.now()
    let services = await this.allServices({ signal })
    this.nodeLog.observe(nodes, this.c.logger)
    let tasks = await this.allTasks({ signal })
    const original = new Map(tasks.map((t) => [t.id, t]))
    // the updater first: reconcile then sees its new tasks and the spec it may have rolled back
    const u = rollOut(this.orch, services, tasks, now, newId, this.c.logger)
    ;({ services, tasks } = u)
    this.rolling = u.rolling
    const byId = new Map(tasks.map((t) => [t.id, t]))
    const r = this.orch.reconcile({ services, tasks, nodes, now, newId })
    for (const t of [...r.create, ...r.update]) byId.set(t.id, t)
    for (const id of r.remove) byId.delete(id)
    tasks = [...byId.values()]
    const filter = await this.c.placement?.({ signal })
    const s = this.orch.schedule({ tasks, nodes, services, now, ...(filter ? { filter } : {}) })
    const updates = new Map(
      [...u.create, ...u.update, ...r.create, ...r.update, ...s.update].map((t) => [t.id, t]),
    )
    for (const t of [...u.update, ...r.update]) logTransitions(this.c.logger, original.get(t.id), t)
    const removed = r.remove.map((id) => this.tasks.delOp(id))
    // addresses are allocated before dispatch, in the same batch as the assignment
    const svc = new Map(services.map((x) => [x.id, x]))
    const ingressId = (await this.c.networks.ingress({ signal }))?.id
    const requests = s.assignments.map((a) => {
      const t = updates.get(a.taskId)
      return {
        taskId: a.taskId,
        node: a.nodeId,
        networks: taskNetworks(svc.get(t?.serviceId ?? ''), ingressId, t?.spec),
      }
    })
    const serviceOps = u.changed.map((x) => this.services.putOp(x.id, x))
    if (updates.size === 0 && removed.length === 0 && serviceOps.length === 0)
      return this.lost.release(nodes, tasks, signal)
    await this.c.networks.allocateTasks(
      requests,
      (allocated, failed) => {
        for (const [id, attachments] of allocated) {
          const t = updates.get(id)
          if (t) updates.set(id, { ...t, attachments })
        }
        for (const [id, error] of failed) {
          const t = updates.get(id)
          if (t === undefined) continue
          this.c.logger.warn('task not assigned: no address', { task: id, service: t.serviceId, error })
          updates.set(id, { ...t, nodeId: original.get(id)?.nodeId ?? '', state: 'pending', error })
        }
        return [...[...updates.values()].map((t) => this.tasks.putOp(t.id, t)), ...removed, ...serviceOps]
      },
      { signal },
    )
    await this.lost.release(nodes, tasks, signal)
  }

  /** Logs each node's status change once. */
  private readonly nodeLog = new NodeStatusLog()
  private readonly lost: LostAddresses

  private async find(ref: string, options?: AbortOptions): Promise<Service> {
    return resolveRef('service', await this.allServices(options), ref, (s) => s.name)
  }

  private async allServices(options?: AbortOptions): Promise<Service[]> {
    return (await this.services.list(options)).map((e) => e.value)
  }

  private async allTasks(options?: AbortOptions): Promise<Task[]> {
    await this.index.load(options)
    return this.index.all()
  }

  private async serviceTasks(serviceId: string, options?: AbortOptions): Promise<Task[]> {
    await this.index.load(options)
    return this.index.ofService(serviceId)
  }

  private async view(s: Service, options?: AbortOptions): Promise<ServiceViewJson> {
    const tasks = await this.serviceTasks(s.id, options)
    const nodes = await this.c.nodes(options)
    const nets = new Map((await this.c.networks.allNetworks(options)).map((n) => [n.id, n.name]))
    return serviceView(this.orch, s, tasks, nodes, nets)
  }
}
