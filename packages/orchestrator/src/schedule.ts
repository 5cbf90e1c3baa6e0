import { type Constraint, constraintsOf, spreadLabel } from './constraints.js'
import { isEligible, nodeIndex } from './nodes.js'
import { hostPortsOf, type NodeLoad, type Refusal, refusal, refusedReason } from './placement.js'
import { isTerminal, isUndispatched } from './states.js'
import type {
  Assignment,
  Node,
  ScheduleInput,
  ScheduleResult,
  Service,
  Task,
  Unschedulable,
} from './types.js'

/** swarmkit: a node with this many recent failures of a service ranks last for that service. */
const FAILURE_THRESHOLD = 5
const FAILURE_WINDOW_MS = 5 * 60_000

function count(map: Map<string, number>, key: string): number {
  return map.get(key) ?? 0
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, count(map, key) + 1)
}

const pair = (nodeId: string, serviceId: string): string => `${nodeId}\0${serviceId}`

function notAvailable(n: number): string {
  return `no suitable node (${n} node(s) not available for new tasks)`
}

/** The value of each spread preference of `service` on `node` (`''` when the label is missing). */
function zonesOf(service: Service | undefined, node: Node | undefined): string[] {
  return (service?.spec.placement?.preferences ?? []).map(
    (p, i) => `${service?.id}\0${i}\0${node?.labels?.[spreadLabel(p.spread)] ?? ''}`,
  )
}

/**
 * Places unassigned tasks (desired running, state `new`/`pending`) on nodes. Filter: the node is
 * Ready and Active and passes placement.ts (reservations fit, requirements of `input.filter`,
 * constraints, max replicas per node); global tasks only on their own node. Spread: first evenly
 * over the values of each spread preference (`node.labels.zone`), then fewest live tasks of the
 * same service, then fewest live tasks overall, then node id; nodes with 5+ failures of the
 * service in the last 5 minutes go last. Tasks are taken oldest first and each placement counts
 * for the next.
 */
export function schedule(input: ScheduleInput): ScheduleResult {
  const { now } = input
  const services = new Map(input.services.map((s) => [s.id, s]))
  const nodes = nodeIndex(input.nodes)
  const eligible = input.nodes.filter(isEligible).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const total = new Map<string, number>()
  const perService = new Map<string, number>()
  const zones = new Map<string, number>()
  const reservedCpu = new Map<string, number>()
  const reservedMem = new Map<string, number>()
  const failures = new Map<string, number>()
  const candidates: Task[] = []
  /** node id → `PORT/PROTO` of the host-mode ports its live tasks publish */
  const hostPorts = new Map<string, Set<string>>()
  /** One more live task of `serviceId` on `nodeId` (`task`: its own ports, else the service's). */
  const hold = (nodeId: string, serviceId: string, task?: Task): void => {
    const service = services.get(serviceId)
    // a task runs the spec it was created with (tasks from before 0.5 have none: their service's)
    const ports = hostPortsOf(task?.spec !== undefined ? task.spec.ports : service?.spec.ports)
    if (ports.length > 0) hostPorts.set(nodeId, new Set([...(hostPorts.get(nodeId) ?? []), ...ports]))
    bump(total, nodeId)
    bump(perService, pair(nodeId, serviceId))
    for (const z of zonesOf(service, nodes.get(nodeId))) bump(zones, z)
    const r = service?.spec.resources?.reservations
    reservedCpu.set(nodeId, count(reservedCpu, nodeId) + (r?.nanoCpus ?? 0))
    reservedMem.set(nodeId, count(reservedMem, nodeId) + (r?.memoryBytes ?? 0))
  }
  const load = (nodeId: string, serviceId: string): NodeLoad => ({
    reserved: { nanoCpus: count(reservedCpu, nodeId), memoryBytes: count(reservedMem, nodeId) },
    ofService: count(perService, pair(nodeId, serviceId)),
    hostPorts: hostPorts.get(nodeId) ?? new Set(),
  })
  const constraints = new Map<string, Constraint[]>()
  const refuse = (service: Service, node: Node): Refusal | undefined => {
    const c = constraints.get(service.id) ?? constraintsOf(service)
    constraints.set(service.id, c)
    return refusal(input.filter, service, c, node, load(node.id, service.id))
  }
  for (const t of input.tasks) {
    if (t.nodeId !== '' && t.desiredState === 'running' && !isTerminal(t.state) && !isUndispatched(t.state))
      hold(t.nodeId, t.serviceId, t)
    if (
      (t.state === 'failed' || t.state === 'rejected') &&
      t.nodeId !== '' &&
      t.statusAt >= now - FAILURE_WINDOW_MS
    ) {
      bump(failures, pair(t.nodeId, t.serviceId))
    }
    if (t.desiredState === 'running' && isUndispatched(t.state) && services.has(t.serviceId))
      candidates.push(t)
  }
  candidates.sort(
    (a, b) =>
      a.createdAt - b.createdAt ||
      (a.serviceId < b.serviceId ? -1 : a.serviceId > b.serviceId ? 1 : 0) ||
      a.slot - b.slot ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )

  const assignments: Assignment[] = []
  const unschedulable: Unschedulable[] = []
  const update: Task[] = []
  const rank = (serviceId: string, node: Node): number[] => [
    count(failures, pair(node.id, serviceId)) >= FAILURE_THRESHOLD ? 1 : 0,
    ...zonesOf(services.get(serviceId), node).map((z) => count(zones, z)),
    count(perService, pair(node.id, serviceId)),
    count(total, node.id),
  ]
  const better = (serviceId: string, a: Node, b: Node): boolean => {
    const ra = rank(serviceId, a)
    const rb = rank(serviceId, b)
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] ?? 0) < (rb[i] ?? 0)
    return a.id < b.id
  }

  for (const t of candidates) {
    const service = services.get(t.serviceId)
    let chosen: Node | undefined
    let error = ''
    if (t.nodeId !== '' || (service !== undefined && 'global' in service.mode)) {
      const node = nodes.get(t.nodeId)
      const why = service !== undefined && isEligible(node) ? refuse(service, node) : undefined
      if (isEligible(node) && why === undefined) chosen = node
      else if (isEligible(node) && why !== undefined) error = refusedReason([{ node, refusal: why }])
      else error = node ? notAvailable(1) : `no suitable node (node ${t.nodeId || '(none)'} not found)`
    } else {
      const refused: Array<{ node: Node; refusal: Refusal }> = []
      for (const node of eligible) {
        const why = service === undefined ? undefined : refuse(service, node)
        if (why !== undefined) refused.push({ node, refusal: why })
        else if (chosen === undefined || better(t.serviceId, node, chosen)) chosen = node
      }
      if (chosen === undefined) {
        error =
          refused.length > 0
            ? refusedReason(refused)
            : input.nodes.length === 0
              ? 'no suitable node (no nodes in the cluster)'
              : notAvailable(input.nodes.length)
      }
    }
    if (chosen !== undefined) {
      assignments.push({ taskId: t.id, nodeId: chosen.id })
      update.push({ ...t, nodeId: chosen.id, state: 'assigned', error: '', statusAt: now, updatedAt: now })
      hold(chosen.id, t.serviceId, t)
    } else {
      unschedulable.push({ taskId: t.id, error })
      if (t.state !== 'pending' || t.error !== error) {
        update.push({
          ...t,
          state: 'pending',
          error,
          statusAt: t.state === 'pending' ? t.statusAt : now,
          updatedAt: now,
        })
      }
    }
  }
  return { assignments, unschedulable, update }
}
