/**
 * Services and their tasks on the manager: the orchestrator loop and the dispatcher.
 *
 * The loop runs the pure orchestrator (reconcile, then schedule) over the stored services,
 * tasks and nodes and writes its changes in one batch; it runs on every change and every
 * {@link ORCHESTRATE_PERIOD_MS}. The dispatcher is the other half: each node syncs every
 * second, reporting the state of its tasks (applied forward-only) and receiving the tasks
 * assigned to it.
 */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { ConflictError, type Periodic, serialQueue, startPeriodic } from '@swarmnet/interface'
import type { Node, Orchestrator, Service, Task } from '@swarmnet/orchestrator'
import { createOrchestrator, isTerminal } from '@swarmnet/orchestrator'
import type { BatchOp, Store } from '@swarmnet/store'
import type { Assignment, ServiceViewJson, TaskJson, TaskReport } from '@swarmnet/wire'
import { assignmentOf, logTransitions } from './dispatch.js'
import { newId } from './ids.js'
import type { NetworkService } from './networks.js'
import { resolveRef } from './refs.js'

export const ORCHESTRATE_PERIOD_MS = 1_000
/** A node Down this long loses the addresses of its tasks that are over (it may never return). */
export const LOST_ADDRESS_GRACE_MS = 5 * 60_000
/** How long `service logs` waits for the nodes' next sync to bring the lines. */
const LOGS_WAIT_MS = 5_000

export interface ServiceCreate {
  name: string
  replicas?: number | undefined
  global: boolean
  networks: string[]
  env: Record<string, string>
  restartCondition: 'any' | 'on-failure' | 'none'
  argv: string[]
}

export interface ServicesComponents {
  store: Store
  clock: Clock
  logger: Logger
  networks: NetworkService
  /** Orchestrator pass when nothing wakes it. @default {@link ORCHESTRATE_PERIOD_MS} */
  periodMs?: number
  /** Current nodes with their observed status (and since when a Down node is down). */
  nodes(options?: AbortOptions): Promise<Array<Node & { downSince?: number }>>
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
  /** `service logs` waiting for a node's next sync: task id → resolvers. */
  private readonly logWaiters = new Map<string, Array<(text: string) => void>>()

  constructor(components: ServicesComponents) {
    this.c = components
    this.services = components.store.table<Service>('services')
    this.tasks = components.store.table<Task>('tasks')
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
  }

  private wake(): void {
    this.periodic?.wake()
  }

  async create(req: ServiceCreate, options?: AbortOptions): Promise<ServiceViewJson> {
    const result = await this.serial(async () => {
      const networks = []
      for (const ref of req.networks) networks.push((await this.c.networks.find(ref, options)).id)
      const existing = await this.allServices(options)
      const v = this.orch.validateService(
        {
          name: req.name,
          mode: req.global ? { global: {} } : { replicated: { replicas: req.replicas ?? 1 } },
          argv: req.argv,
          env: req.env,
          networks,
          restart: { condition: req.restartCondition },
        },
        existing,
      )
      if (req.global && req.replicas !== undefined)
        throw new ConflictError('--replicas cannot be used with --mode global')
      const now = this.c.clock.now()
      const svc: Service = { id: newId(), ...v, version: 1, createdAt: now, updatedAt: now }
      await this.services.put(svc.id, svc, options)
      this.c.logger.info('service created', { service: svc.id, name: svc.name })
      return svc
    })
    this.wake()
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

  async remove(ref: string, options?: AbortOptions): Promise<void> {
    await this.serial(async () => {
      const s = await this.find(ref, options)
      await this.services.del(s.id, options)
      this.c.logger.info('service removed', { service: s.id, name: s.name })
    })
    this.wake()
  }

  /** Services that name a network, and the tasks not over yet (their addresses are in use). */
  async networkUsers(networkId: string, options?: AbortOptions) {
    const services = (await this.allServices(options)).filter((s) => s.spec.networks.includes(networkId))
    const liveTasks = new Set(
      (await this.allTasks(options)).filter((t) => !isTerminal(t.state)).map((t) => t.id),
    )
    return { services: services.map((s) => s.name), liveTasks }
  }

  async ps(ref: string, options?: AbortOptions): Promise<TaskJson[]> {
    const svc = await this.find(ref, options)
    const tasks = (await this.allTasks(options)).filter((t) => t.serviceId === svc.id)
    const nodes = await this.c.nodes(options)
    const nets = new Map((await this.c.networks.allNetworks(options)).map((n) => [n.id, n.name]))
    const now = this.c.clock.now()
    return this.orch.serviceTasksView(svc, tasks, nodes, now).map((v) => {
      const t = tasks.find((x) => x.id === v.id) as Task
      return {
        id: t.id,
        name: v.name,
        service: svc.name,
        slot: t.slot,
        node: nodes.find((n) => n.id === t.nodeId)?.hostname ?? t.nodeId,
        nodeId: t.nodeId,
        desiredState: t.desiredState,
        state: t.state,
        currentState: v.currentState,
        error: t.error,
        ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}),
        addresses: (t.attachments ?? []).map((a) => ({
          network: nets.get(a.networkId) ?? a.networkId,
          ip: a.ip,
          mac: a.mac,
        })),
      }
    })
  }

  /** Recent log lines of each task of a service, fetched from the nodes through their next sync. */
  async logs(ref: string, tail: number | undefined, options?: AbortOptions) {
    const rows = (await this.ps(ref, options)).filter((t) => t.nodeId !== '' && !t.name.startsWith(' '))
    const texts = await Promise.all(
      rows.map(
        (t) =>
          new Promise<string>((resolve) => {
            const list = this.logWaiters.get(t.id) ?? []
            list.push(resolve)
            this.logWaiters.set(t.id, list)
            // a node that does not answer within 5 s shows no lines; its waiter goes
            void this.c.clock.sleep(LOGS_WAIT_MS, options).then(
              () => {
                this.logWaiters.delete(t.id)
                resolve('')
              },
              () => resolve(''),
            )
          }),
      ),
    )
    return rows.map((t, i) => {
      const lines = (texts[i] ?? '').split('\n').filter((l) => l.length > 0)
      return {
        task: t.id,
        name: t.name,
        node: t.node,
        text: (tail === undefined ? lines : lines.slice(-tail)).join('\n'),
      }
    })
  }

  /**
   * The dispatcher: applies a node's reports, releases the addresses of tasks it no longer
   * holds (and that are over), and returns the tasks assigned to it with their addresses.
   */
  async sync(
    nodeId: string,
    reports: readonly TaskReport[],
    held: readonly string[],
    options?: AbortOptions,
  ) {
    for (const r of reports) {
      if (r.logTail === undefined) continue
      for (const w of this.logWaiters.get(r.id) ?? []) w(r.logTail)
      this.logWaiters.delete(r.id)
    }
    const { changed, mine } = await this.serial(async () => {
      const now = this.c.clock.now()
      const ops: BatchOp[] = []
      const byId = new Map((await this.allTasks(options)).map((t) => [t.id, t]))
      for (const r of reports) {
        const t = byId.get(r.id)
        if (t === undefined || t.nodeId !== nodeId) continue
        const next = this.orch.applyStatusReport(
          t,
          {
            state: r.state,
            ...(r.error ? { error: r.error } : {}),
            ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
          },
          now,
        )
        if (next === t) continue
        logTransitions(this.c.logger, t, next)
        ops.push(this.tasks.putOp(t.id, next))
        byId.set(t.id, next)
      }
      if (ops.length > 0) await this.c.store.batch(ops, options)
      const mine = [...byId.values()].filter((t) => t.nodeId === nodeId)
      // An address can only become free when a task leaves the node's held set or ends: look
      // at the endpoints then, not on every sync. Inside the queue, so an allocation for a
      // task being assigned is never mistaken for a stale one.
      const heldNow = new Set(held)
      const before = this.heldBy.get(nodeId)
      this.heldBy.set(nodeId, heldNow)
      const ended = ops.length > 0 && reports.some((r) => isTerminal(r.state))
      if (before === undefined || ended || [...before].some((id) => !heldNow.has(id))) {
        const live = new Set(mine.filter((t) => !isTerminal(t.state)).map((t) => t.id))
        await this.c.networks.releaseUnheld(nodeId, heldNow, live, options)
      }
      return { changed: ops.length > 0, mine }
    })
    if (changed) this.wake()
    const services = new Map((await this.allServices(options)).map((s) => [s.id, s]))
    const networks = new Map((await this.c.networks.allNetworks(options)).map((n) => [n.id, n]))
    const assignments: Assignment[] = mine.map((t) =>
      assignmentOf(t, services.get(t.serviceId), networks, nodeId),
    )
    const wantLogs = assignments.map((a) => a.id).filter((id) => this.logWaiters.has(id))
    return { assignments, wantLogs }
  }

  private async orchestrate(signal: AbortSignal): Promise<void> {
    const now = this.c.clock.now()
    const services = await this.allServices({ signal })
    const nodes = await this.c.nodes({ signal })
    this.logNodeChanges(nodes)
    let tasks = await this.allTasks({ signal })
    const r = this.orch.reconcile({ services, tasks, nodes, now, newId })
    const original = new Map(tasks.map((t) => [t.id, t]))
    const byId = new Map(original)
    for (const t of [...r.create, ...r.update]) byId.set(t.id, t)
    for (const id of r.remove) byId.delete(id)
    tasks = [...byId.values()]
    const s = this.orch.schedule({ tasks, nodes, services, now })
    const updates = new Map([...r.create, ...r.update, ...s.update].map((t) => [t.id, t]))
    for (const t of r.update) logTransitions(this.c.logger, original.get(t.id), t)
    const removed = r.remove.map((id) => this.tasks.delOp(id))
    // addresses are allocated before dispatch, in the same batch as the assignment
    const svc = new Map(services.map((x) => [x.id, x]))
    const requests = s.assignments.map((a) => ({
      taskId: a.taskId,
      node: a.nodeId,
      networks: svc.get(updates.get(a.taskId)?.serviceId ?? '')?.spec.networks ?? [],
    }))
    if (updates.size === 0 && removed.length === 0) return this.releaseLost(nodes, tasks, signal)
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
        return [...[...updates.values()].map((t) => this.tasks.putOp(t.id, t)), ...removed]
      },
      { signal },
    )
    await this.releaseLost(nodes, tasks, signal)
  }

  /** Nodes Down past the grace period lose the addresses of their tasks that are over. */
  private async releaseLost(
    nodes: ReadonlyArray<Node & { downSince?: number }>,
    tasks: readonly Task[],
    signal: AbortSignal,
  ): Promise<void> {
    const now = this.c.clock.now()
    const due = nodes.filter(
      (n) =>
        n.status === 'down' &&
        n.downSince !== undefined &&
        now - n.downSince > LOST_ADDRESS_GRACE_MS &&
        this.swept.get(n.id) !== n.downSince,
    )
    if (due.length === 0) return
    const live = new Set(tasks.filter((t) => !isTerminal(t.state)).map((t) => t.id))
    for (const n of due) {
      await this.c.networks.releaseLost(n.id, live, { signal })
      this.swept.set(n.id, n.downSince ?? 0)
    }
  }

  /** What each node reported holding at its last sync (the manager's restart starts afresh). */
  private readonly heldBy = new Map<string, ReadonlySet<string>>()

  /** Down nodes whose addresses were released, with the time they went down. */
  private readonly swept = new Map<string, number>()

  /** Node status as the orchestrator last saw it, to log changes once. */
  private readonly lastStatus = new Map<string, Node['status']>()

  private logNodeChanges(nodes: readonly Node[]): void {
    for (const n of nodes) {
      const before = this.lastStatus.get(n.id)
      if (before !== undefined && before !== n.status) {
        if (n.status === 'down') this.c.logger.warn('node down', { node: n.id, hostname: n.hostname })
        else if (n.status === 'ready')
          this.c.logger.info('node ready again', { node: n.id, hostname: n.hostname })
      }
      this.lastStatus.set(n.id, n.status)
    }
    for (const id of [...this.lastStatus.keys()])
      if (!nodes.some((n) => n.id === id)) this.lastStatus.delete(id)
  }

  private async find(ref: string, options?: AbortOptions): Promise<Service> {
    return resolveRef('service', await this.allServices(options), ref, (s) => s.name)
  }

  private async allServices(options?: AbortOptions): Promise<Service[]> {
    return (await this.services.list(options)).map((e) => e.value)
  }

  private async allTasks(options?: AbortOptions): Promise<Task[]> {
    return (await this.tasks.list(options)).map((e) => e.value)
  }

  private async view(s: Service, options?: AbortOptions): Promise<ServiceViewJson> {
    const tasks = (await this.allTasks(options)).filter((t) => t.serviceId === s.id)
    const nodes = await this.c.nodes(options)
    const nets = new Map((await this.c.networks.allNetworks(options)).map((n) => [n.id, n.name]))
    const v = this.orch.serviceView(s, tasks, nodes)
    return {
      id: s.id,
      name: s.name,
      mode: 'global' in s.mode ? 'global' : 'replicated',
      replicas: v.replicas,
      desired:
        'replicated' in s.mode
          ? s.mode.replicated.replicas
          : nodes.filter((n) => n.status === 'ready' && n.availability === 'active').length,
      argv: s.spec.argv,
      env: s.spec.env,
      networks: s.spec.networks.map((id) => ({ id, name: nets.get(id) ?? id })),
      restartCondition: s.restart.condition,
      createdAt: new Date(s.createdAt).toISOString(),
      updatedAt: new Date(s.updatedAt).toISOString(),
    }
  }
}
