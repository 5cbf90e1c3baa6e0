/** `service update` (spec, placement) and `service rollback` on the manager: the new spec stored, the updater's step of a pass. */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import {
  isRollingOut,
  isTerminal,
  type Orchestrator,
  type Service,
  type Task,
  taskSpecOf,
  type UpdaterResult,
} from '@swarmnet/orchestrator'
import type { BatchOp, Store, Table } from '@swarmnet/store'

export type SpecChange = (s: Service, now: number) => Service

export interface SpecStore {
  store: Store
  services: Table<Service>
  tasks: Table<Task>
  clock: Clock
  logger: Logger
  serviceTasks(serviceId: string, options?: AbortOptions): Promise<Task[]>
}

/**
 * Writes `change(before)` in one batch (call it inside the controller's write queue). Tasks from
 * before 0.5 have no spec of their own: they get the one they were created with before it changes.
 */
export async function storeSpecChange(
  c: SpecStore,
  before: Service,
  change: SpecChange,
  what: string,
  options?: AbortOptions,
  /** Writes `ops` with the service in one batch (a change of ports: with the allocator's). */
  write?: (s: Service, ops: BatchOp[]) => Promise<Service>,
): Promise<Service> {
  const changed = change(before, c.clock.now())
  const stamped = (await c.serviceTasks(changed.id, options))
    .filter((t) => t.spec === undefined && !isTerminal(t.state))
    .map((t) => c.tasks.putOp(t.id, { ...t, spec: taskSpecOf(before) }))
  let s = changed
  if (write !== undefined) s = await write(changed, stamped)
  else await c.store.batch([...stamped, c.services.putOp(s.id, s)], options)
  c.logger.info(what, {
    service: s.id,
    name: s.name,
    version: s.version,
    status: s.updateStatus?.state,
    placement: s.spec.placement,
    resources: s.spec.resources,
    ports: s.spec.ports,
  })
  return s
}

/**
 * The updater's step of an orchestrator pass: the services and tasks with its changes applied
 * (for reconcile and schedule), its result (to store), and whether a rollout goes on.
 */
export function rollOut(
  orch: Orchestrator,
  services: readonly Service[],
  tasks: readonly Task[],
  now: number,
  newId: () => string,
  logger: Logger,
): Omit<UpdaterResult, 'services'> & {
  services: Service[]
  tasks: Task[]
  changed: Service[]
  rolling: boolean
} {
  const u = orch.advanceUpdates({ services, tasks, now, newId })
  const byId = new Map(u.services.map((x) => [x.id, x]))
  for (const x of u.services)
    logger.info('service update', { service: x.id, name: x.name, ...x.updateStatus })
  const next = services.map((x) => byId.get(x.id) ?? x)
  const all = new Map(tasks.map((t) => [t.id, t]))
  for (const t of [...u.create, ...u.update]) all.set(t.id, t)
  const rolling = next.some(isRollingOut)
  return {
    create: u.create,
    update: u.update,
    changed: u.services,
    services: next,
    tasks: [...all.values()],
    rolling,
  }
}
