import { constraintsOf, satisfies } from './constraints.js'
import { isEligible, isLost, mustVacate, nodeIndex } from './nodes.js'
import { nextStreak, restartDecision } from './restart.js'
import { isTerminal, isUndispatched } from './states.js'
import { isReady, taskSpecOf } from './task-spec.js'
import type { DesiredState, Node, ReconcileInput, ReconcileResult, Service, Task } from './types.js'

/** Newest first: higher attempt, then later creation, then larger id. */
export function newerFirst(a: Task, b: Task): number {
  return b.attempt - a.attempt || b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/** Most recently ended first (the order history is kept in). */
function recentFirst(a: Task, b: Task): number {
  return b.statusAt - a.statusAt || newerFirst(a, b)
}

/** The changes of one reconcile pass, keyed by task id so each task is written once. */
class Changes {
  readonly #original: Map<string, Task>
  readonly #updated = new Map<string, Task>()
  readonly #removed = new Set<string>()
  readonly #created: Task[] = []

  constructor(
    tasks: readonly Task[],
    readonly now: number,
    private readonly newId: () => string,
  ) {
    this.#original = new Map(tasks.map((t) => [t.id, t]))
  }

  /** The task as this pass has left it so far. */
  current(task: Task): Task {
    return this.#updated.get(task.id) ?? task
  }

  patch(task: Task, fields: Partial<Pick<Task, 'state' | 'desiredState' | 'error'>>): Task {
    const cur = this.current(task)
    const changed = (Object.keys(fields) as (keyof typeof fields)[]).some((k) => fields[k] !== cur[k])
    if (!changed) return cur
    const next: Task = { ...cur, ...fields, updatedAt: this.now }
    if (fields.state !== undefined && fields.state !== cur.state) next.statusAt = this.now
    this.#updated.set(task.id, next)
    return next
  }

  /** Desired state → shutdown/remove; a task no agent has seen yet is shut down on the spot. */
  stop(task: Task, desiredState: Exclude<DesiredState, 'running'> = 'shutdown'): Task {
    const cur = this.current(task)
    return isUndispatched(cur.state)
      ? this.patch(cur, { desiredState, state: 'shutdown' })
      : this.patch(cur, { desiredState })
  }

  remove(task: Task): void {
    this.#removed.add(task.id)
  }

  create(
    fields: Pick<Task, 'serviceId' | 'slot' | 'nodeId' | 'attempt' | 'spec'> &
      Partial<Pick<Task, 'streak' | 'attemptBase' | 'replaces'>>,
  ): Task {
    const t: Task = {
      id: this.newId(),
      ...fields,
      desiredState: 'running',
      state: 'new',
      error: '',
      createdAt: this.now,
      updatedAt: this.now,
      statusAt: this.now,
    }
    this.#created.push(t)
    return t
  }

  result(): ReconcileResult {
    return {
      create: this.#created,
      update: [...this.#updated.values()].filter((t) => !this.#removed.has(t.id)),
      remove: [...this.#removed].filter((id) => this.#original.has(id)),
    }
  }
}

interface Settled {
  /** The task the slot runs now (desired state running), if any. */
  head: Task | undefined
  /** The newest task that wanted to run but was taken off a lost or drained node in this pass. */
  evicted: Task | undefined
}

/**
 * Common rules for the tasks of one slot (or one node of a global service): tasks on Down or
 * vanished nodes become `orphaned` (desired shutdown), tasks on drained nodes are asked to shut
 * down, never-dispatched tasks that are no longer wanted are shut down, and only the newest task
 * that wants to run stays the head.
 */
function settle(
  ch: Changes,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
  misfits: ReadonlyMap<string, string> = new Map(),
): Settled {
  let evicted: Task | undefined
  for (const original of tasks) {
    const t = ch.current(original)
    if (isTerminal(t.state)) continue
    if (t.desiredState !== 'running' && isUndispatched(t.state)) {
      ch.patch(t, { state: 'shutdown' })
      continue
    }
    if (t.nodeId === '') continue
    const node = nodes.get(t.nodeId)
    const misfit = t.desiredState === 'running' ? misfits.get(t.id) : undefined
    if (misfit !== undefined && !mustVacate(node)) {
      // its node no longer fits the service: it goes, and its slot is placed again
      if (evicted === undefined || newerFirst(t, evicted) < 0) evicted = t
      ch.patch(ch.stop(t), { error: misfit })
      continue
    }
    if (!mustVacate(node)) continue
    if (t.desiredState === 'running' && (evicted === undefined || newerFirst(t, evicted) < 0)) evicted = t
    if (isLost(node)) {
      ch.patch(t, {
        state: 'orphaned',
        desiredState: t.desiredState === 'running' ? 'shutdown' : t.desiredState,
        error: t.error || (node ? `node ${t.nodeId} is down` : `node ${t.nodeId} was removed`),
      })
    } else {
      ch.stop(t)
    }
  }
  const heads = tasks
    .map((t) => ch.current(t))
    .filter((t) => t.desiredState === 'running')
    .sort(newerFirst)
  // start-first: the task being replaced runs on until its replacement does
  const keep = new Set(heads.filter((h) => h.replaces !== undefined && !isReady(h)).map((h) => h.replaces))
  for (const extra of heads.slice(1)) if (!keep.has(extra.id)) ch.stop(extra)
  return { head: heads[0], evicted }
}

/**
 * A head that has ended: replace it (same slot, attempt + 1) once the restart policy allows;
 * if the policy never will, its desired state settles to shutdown and the slot is done.
 */
function restartIfDue(ch: Changes, service: Service, head: Task, nodeId: string): void {
  const decision = restartDecision(head, service.restart, ch.now)
  if (decision.kind === 'never') ch.stop(head)
  if (decision.kind !== 'restart') return
  ch.stop(head)
  ch.create({
    serviceId: service.id,
    slot: head.slot,
    nodeId,
    attempt: head.attempt + 1,
    spec: taskSpecOf(service),
    streak: nextStreak(head, service.restart),
    ...(head.attemptBase !== undefined ? { attemptBase: head.attemptBase } : {}),
    ...(head.replaces !== undefined ? { replaces: head.replaces } : {}),
  })
}

/**
 * The slot's newest task ended by itself (complete, failed, rejected) and the restart policy
 * will not replace it: the slot is done and stays taken, it is not refilled.
 */
function isDone(ch: Changes, service: Service, tasks: readonly Task[]): boolean {
  const newest = tasks.map((t) => ch.current(t)).sort(newerFirst)[0]
  if (newest === undefined || newest.desiredState === 'running') return false
  if (newest.state !== 'complete' && newest.state !== 'failed' && newest.state !== 'rejected') return false
  return restartDecision(newest, service.restart, ch.now).kind === 'never'
}

/**
 * Keeps the newest `limit` ended tasks of a slot that are no longer its head (nor the last task
 * of a done slot); removes the rest.
 */
function trimHistory(ch: Changes, tasks: readonly Task[], limit: number, done: boolean): void {
  const last = done ? tasks.map((t) => ch.current(t)).sort(newerFirst)[0] : undefined
  const history = tasks
    .map((t) => ch.current(t))
    .filter((t) => t.desiredState !== 'running' && isTerminal(t.state) && t.id !== last?.id)
    .sort(recentFirst)
  for (const t of history.slice(Math.max(0, limit))) ch.remove(t)
}

function groupBy<K>(tasks: readonly Task[], key: (t: Task) => K): Map<K, Task[]> {
  const groups = new Map<K, Task[]>()
  for (const t of tasks) {
    const k = key(t)
    const list = groups.get(k)
    if (list) list.push(t)
    else groups.set(k, [t])
  }
  return groups
}

/**
 * Live tasks of `service` whose node no longer fits it (swarmkit's constraint enforcer): the
 * node fails its constraints (labels changed, or the service's constraints did), or holds more
 * of its tasks than its max replicas per node (the newest go). Task id → why.
 */
export function misfits(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
): Map<string, string> {
  const out = new Map<string, string>()
  const constraints = constraintsOf(service)
  const max = service.spec.placement?.maxReplicasPerNode ?? 0
  if (constraints.length === 0 && max === 0) return out
  const live = tasks.filter((t) => t.nodeId !== '' && t.desiredState === 'running' && !isTerminal(t.state))
  for (const [nodeId, onNode] of groupBy(live, (t) => t.nodeId)) {
    const node = nodes.get(nodeId)
    if (node === undefined) continue
    if (!satisfies(node, constraints)) {
      for (const t of onNode) out.set(t.id, 'assigned node no longer meets constraints')
      continue
    }
    if (max > 0)
      for (const t of [...onNode].sort((a, b) => -newerFirst(a, b)).slice(max))
        out.set(t.id, 'assigned node has more than the max replicas per node')
  }
  return out
}

function reconcileReplicated(
  ch: Changes,
  service: Service,
  replicas: number,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
): Map<number, Task[]> {
  const groups = groupBy(tasks, (t) => t.slot)
  const occupied: { slot: number; head: Task | undefined; evicted: Task | undefined }[] = []
  const misfit = misfits(service, tasks, nodes)
  for (const [slot, group] of [...groups].sort((a, b) => a[0] - b[0])) {
    const { head, evicted } = settle(ch, group, nodes, misfit)
    if (!Number.isInteger(slot) || slot < 1) {
      if (head) ch.stop(head)
    } else if (head || evicted || isDone(ch, service, group)) {
      occupied.push({ slot, head, evicted })
    }
  }
  // Scale down: the highest slots go first.
  for (const { head } of occupied.slice(replicas)) if (head) ch.stop(head)
  for (const { slot, head, evicted } of occupied.slice(0, replicas)) {
    if (head === undefined && evicted !== undefined) {
      ch.create({
        serviceId: service.id,
        slot,
        nodeId: '',
        attempt: evicted.attempt,
        spec: taskSpecOf(service),
      })
    } else if (head !== undefined && isTerminal(head.state)) {
      restartIfDue(ch, service, head, '')
    }
  }
  // Scale up: the lowest free slot numbers.
  const taken = new Set(occupied.map((o) => o.slot))
  for (let slot = 1, missing = replicas - occupied.length; missing > 0; slot++) {
    if (taken.has(slot)) continue
    ch.create({ serviceId: service.id, slot, nodeId: '', attempt: 0, spec: taskSpecOf(service) })
    missing--
  }
  return groups
}

function reconcileGlobal(
  ch: Changes,
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
): Map<string, Task[]> {
  const groups = groupBy(tasks, (t) => t.nodeId)
  const running = new Set<string>()
  const constraints = constraintsOf(service)
  // global services run only on the nodes that satisfy their constraints (swarmkit's rule)
  const fits = (node: Node | undefined) => node !== undefined && satisfies(node, constraints)
  for (const [nodeId, group] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const { head } = settle(ch, group, nodes)
    const node = nodes.get(nodeId)
    if (head === undefined) {
      if (isDone(ch, service, group) && !mustVacate(node) && fits(node)) running.add(nodeId)
      continue
    }
    if (nodeId === '' || mustVacate(node) || !fits(node)) {
      ch.stop(head)
      continue
    }
    running.add(nodeId)
    if (isTerminal(head.state) && isEligible(node)) restartIfDue(ch, service, head, nodeId)
  }
  const eligible = [...nodes.values()]
    .filter((n) => isEligible(n) && fits(n))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
  for (const node of eligible) {
    if (!running.has(node.id))
      ch.create({ serviceId: service.id, slot: 0, nodeId: node.id, attempt: 0, spec: taskSpecOf(service) })
  }
  return groups
}

/** Tasks of a deleted service: asked to go (desired `remove`), deleted once over or if no agent has them. */
function reconcileRemoved(ch: Changes, tasks: readonly Task[], nodes: ReadonlyMap<string, Node>): void {
  for (const t of tasks) {
    if (isTerminal(t.state) || isUndispatched(t.state) || isLost(nodes.get(t.nodeId))) ch.remove(t)
    else ch.patch(t, { desiredState: 'remove' })
  }
}

/**
 * One level-triggered pass over the whole state: what to create, update and delete so that every
 * service converges (replica slots, one task per eligible node for global services, restart policy,
 * node failure and drain, service removal, history retention). Deterministic for a given input.
 */
export function reconcile(input: ReconcileInput, options: { historyLimit: number }): ReconcileResult {
  const ch = new Changes(input.tasks, input.now, input.newId)
  const nodes = nodeIndex(input.nodes)
  const services = new Map(input.services.map((s) => [s.id, s]))
  const byService = groupBy(input.tasks, (t) => t.serviceId)
  for (const [serviceId, tasks] of byService) {
    if (!services.has(serviceId)) reconcileRemoved(ch, tasks, nodes)
  }
  for (const service of input.services) {
    const tasks = byService.get(service.id) ?? []
    const groups =
      'replicated' in service.mode
        ? reconcileReplicated(ch, service, service.mode.replicated.replicas, tasks, nodes)
        : reconcileGlobal(ch, service, tasks, nodes)
    // the last task of a done slot that is still wanted (within the replicas, or on a node
    // that may keep it) is the slot's state, not history
    const wanted = (key: number | string): boolean =>
      typeof key === 'number'
        ? 'replicated' in service.mode && key >= 1 && key <= service.mode.replicated.replicas
        : !mustVacate(nodes.get(key))
    for (const [key, group] of groups)
      trimHistory(ch, group, options.historyLimit, wanted(key) && isDone(ch, service, group))
  }
  return ch.result()
}
