import { isEligible } from './nodes.js'
import { newerFirst } from './reconcile.js'
import { isTerminal } from './states.js'
import type { Node, Service, ServiceView, Task, TaskView } from './types.js'

/** Docker's enum rendering: `running` → `Running`. */
export function prettyState(value: string): string {
  return value === '' ? '' : value[0]?.toUpperCase() + value.slice(1).toLowerCase()
}

/** Docker's `units.HumanDuration` (go-units), for `<State> <duration> ago`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < 1) return 'Less than a second'
  if (seconds === 1) return '1 second'
  if (seconds < 60) return `${seconds} seconds`
  const minutes = Math.floor(seconds / 60)
  if (minutes === 1) return 'About a minute'
  if (minutes < 60) return `${minutes} minutes`
  const hours = Math.floor(ms / 3_600_000 + 0.5)
  if (hours === 1) return 'About an hour'
  if (hours < 48) return `${hours} hours`
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`
}

/** `"…"`-quoted and cut to 30 characters with `…`, as `service ps` prints errors; `''` if none. */
export function formatTaskError(error: string): string {
  if (error === '') return ''
  return `"${error.length > 30 ? `${error.slice(0, 29)}…` : error}"`
}

/** `running/desired`: running tasks that should run over replicas (global: Ready+Active nodes). */
export function serviceReplicas(service: Service, tasks: readonly Task[], nodes: readonly Node[]): string {
  const running = tasks.filter(
    (t) => t.serviceId === service.id && t.desiredState === 'running' && t.state === 'running',
  ).length
  const desired =
    'replicated' in service.mode ? service.mode.replicated.replicas : nodes.filter(isEligible).length
  return `${running}/${desired}`
}

/** A `service ls` row. */
export function serviceView(service: Service, tasks: readonly Task[], nodes: readonly Node[]): ServiceView {
  return {
    id: service.id,
    name: service.name,
    mode: 'replicated' in service.mode ? 'replicated' : 'global',
    replicas: serviceReplicas(service, tasks, nodes),
  }
}

function taskName(task: Task, service: Service): string {
  return 'global' in service.mode ? `${service.name}.${task.nodeId}` : `${service.name}.${task.slot}`
}

/** A `service ps` row for one task; `now` dates the current state. */
export function taskView(task: Task, service: Service, nodes: readonly Node[], now: number): TaskView {
  const node = task.nodeId === '' ? '' : (nodes.find((n) => n.id === task.nodeId)?.hostname ?? task.nodeId)
  return {
    id: task.id,
    name: taskName(task, service),
    node,
    desiredState: prettyState(task.desiredState),
    currentState: `${prettyState(task.state)} ${humanDuration(Math.max(0, now - task.statusAt)).toLowerCase()} ago${
      task.state === 'running' && task.health !== undefined ? ` (${task.health})` : ''
    }`,
    error: formatTaskError(task.error),
  }
}

/**
 * All `service ps` rows of a service: slots in order (global: by node id), the newest task of each
 * slot first and the older ones below it named ` \_ web.1`.
 */
export function serviceTasksView(
  service: Service,
  tasks: readonly Task[],
  nodes: readonly Node[],
  now: number,
): TaskView[] {
  const global = 'global' in service.mode
  const own = tasks
    .filter((t) => t.serviceId === service.id)
    .sort(
      (a, b) =>
        (global ? (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0) : a.slot - b.slot) ||
        // The task the slot runs now, then the rest newest first.
        Number(b.desiredState === 'running' && !isTerminal(b.state)) -
          Number(a.desiredState === 'running' && !isTerminal(a.state)) ||
        b.createdAt - a.createdAt ||
        newerFirst(a, b),
    )
  let previous = ''
  return own.map((t) => {
    const row = taskView(t, service, nodes, now)
    const first = row.name !== previous
    previous = row.name
    return first ? row : { ...row, name: ` \\_ ${row.name}` }
  })
}
