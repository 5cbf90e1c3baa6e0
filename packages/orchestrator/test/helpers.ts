import {
  createOrchestrator,
  isTerminal,
  type Node,
  type Orchestrator,
  type OrchestratorInit,
  type ReconcileResult,
  type RestartPolicy,
  type ScheduleResult,
  type Service,
  type StatusReport,
  type Task,
} from '../src/index.js'

export const T0 = 1_700_000_000_000

/** Deterministic ids: t001, t002, … */
export function ids(prefix = 't'): () => string {
  let n = 0
  return () => `${prefix}${String(++n).padStart(3, '0')}`
}

/** A task with plain defaults (t1 of s1, slot 1, on n1, assigned, desired running, at T0). */
export function fakeTask(over: Partial<Task> = {}): Task {
  return {
    id: 't1',
    serviceId: 's1',
    slot: 1,
    nodeId: 'n1',
    desiredState: 'running',
    state: 'assigned',
    error: '',
    createdAt: T0,
    updatedAt: T0,
    statusAt: T0,
    attempt: 0,
    ...over,
  }
}

export function node(id: string, over: Partial<Node> = {}): Node {
  return { id, hostname: `host-${id}`, status: 'ready', availability: 'active', ...over }
}

const restartDefaults: RestartPolicy = { condition: 'any', delayMs: 5000, maxAttempts: 0 }

export function replicated(id: string, replicas: number, restart: Partial<RestartPolicy> = {}): Service {
  return {
    id,
    name: `svc-${id}`,
    mode: { replicated: { replicas } },
    spec: { argv: ['sleep', 'infinity'], env: {}, networks: [] },
    restart: { ...restartDefaults, ...restart },
    version: 1,
    createdAt: T0,
    updatedAt: T0,
  }
}

export function global(id: string, restart: Partial<RestartPolicy> = {}): Service {
  return { ...replicated(id, 0, restart), mode: { global: {} } }
}

export function catchErr(fn: () => unknown): Error & { code: string } {
  try {
    fn()
  } catch (err) {
    return err as Error & { code: string }
  }
  throw new Error('expected a throw')
}

/** A fake manager: a task store, a clock, and agents that do what they are told. */
export class Cluster {
  readonly store = new Map<string, Task>()
  readonly orch: Orchestrator
  readonly newId = ids()
  now = T0

  constructor(
    public services: Service[],
    public nodes: Node[],
    init?: OrchestratorInit,
  ) {
    this.orch = createOrchestrator(init)
  }

  get tasks(): Task[] {
    return [...this.store.values()]
  }

  task(id: string): Task {
    const t = this.store.get(id)
    if (!t) throw new Error(`no task ${id}`)
    return t
  }

  reconcile(): ReconcileResult {
    const r = this.orch.reconcile({
      services: this.services,
      tasks: this.tasks,
      nodes: this.nodes,
      now: this.now,
      newId: this.newId,
    })
    for (const t of [...r.create, ...r.update]) this.store.set(t.id, t)
    for (const id of r.remove) this.store.delete(id)
    return r
  }

  /** The updater's step: its services and tasks into the store. */
  rollout(): void {
    const r = this.orch.advanceUpdates({
      services: this.services,
      tasks: this.tasks,
      now: this.now,
      newId: this.newId,
    })
    for (const s of r.services) this.setService(s)
    for (const t of [...r.create, ...r.update]) this.store.set(t.id, t)
  }

  schedule(): ScheduleResult {
    const r = this.orch.schedule({
      services: this.services,
      tasks: this.tasks,
      nodes: this.nodes,
      now: this.now,
    })
    for (const t of r.update) this.store.set(t.id, t)
    return r
  }

  report(id: string, report: StatusReport): void {
    this.store.set(id, this.orch.applyStatusReport(this.task(id), report, this.now))
  }

  /** Agents on Ready nodes run what should run and stop what should stop. */
  agents(): void {
    for (const t of this.tasks) {
      const n = this.nodes.find((x) => x.id === t.nodeId)
      if (n?.status !== 'ready' || isTerminal(t.state) || t.state === 'new' || t.state === 'pending') continue
      if (t.desiredState === 'running') this.report(t.id, { state: 'running' })
      else this.report(t.id, { state: 'shutdown' })
    }
  }

  /** (updater →) reconcile → schedule → agents, until nothing changes. */
  converge(rounds = 5): void {
    for (let i = 0; i < rounds; i++) {
      this.rollout()
      this.reconcile()
      this.schedule()
      this.agents()
    }
  }

  advance(ms: number): void {
    this.now += ms
  }

  /** Tasks that want to run and have not ended. */
  live(serviceId?: string): Task[] {
    return this.tasks.filter(
      (t) =>
        t.desiredState === 'running' &&
        !isTerminal(t.state) &&
        (serviceId === undefined || t.serviceId === serviceId),
    )
  }

  /** Live tasks per node id (sorted keys), '' for unassigned. */
  spread(serviceId?: string): Record<string, number> {
    const out: Record<string, number> = {}
    for (const t of this.live(serviceId).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))) {
      out[t.nodeId] = (out[t.nodeId] ?? 0) + 1
    }
    return out
  }

  slotsOf(serviceId: string): number[] {
    return this.live(serviceId)
      .map((t) => t.slot)
      .sort((a, b) => a - b)
  }

  setNode(id: string, over: Partial<Node>): void {
    this.nodes = this.nodes.map((n) => (n.id === id ? { ...n, ...over } : n))
  }

  setService(service: Service): void {
    this.services = this.services.map((s) => (s.id === service.id ? service : s))
  }
}
