/** What the dispatcher hands a node for one task, and the log line of a task's bad turn. */
import type { Logger } from '@swarmnet/interface'
import type { PublishedPort, Service, Task } from '@swarmnet/orchestrator'
import type { Assignment } from '@swarmnet/wire'
import { networkSpecOf } from './network-views.js'
import type { NetworkRecord } from './records.js'

/** The task as its node gets it: spec from the service, addresses allocated at assignment. */
export function assignmentOf(
  t: Task,
  svc: Service | undefined,
  networks: ReadonlyMap<string, NetworkRecord>,
  nodeId: string,
): Assignment {
  const attachments = []
  for (const a of t.attachments ?? []) {
    const n = networks.get(a.networkId)
    if (n === undefined) continue
    attachments.push({
      id: t.id,
      network: networkSpecOf(n),
      ip: a.ip,
      prefix: a.prefix,
      mac: a.mac,
      node: nodeId,
      ...(a.lb !== undefined ? { lb: a.lb } : {}),
    })
  }
  return {
    id: t.id,
    serviceId: t.serviceId,
    serviceName: svc?.name ?? '',
    slot: t.slot,
    desiredState: t.desiredState,
    // the task runs the spec it was created with (a rolling update replaces it)
    argv: t.spec?.argv ?? svc?.spec.argv ?? [],
    env: t.spec?.env ?? svc?.spec.env ?? {},
    attachments,
    ...(t.spec?.health ? { health: t.spec.health } : {}),
    ...(svc?.spec.resources?.limits !== undefined ? { limits: svc.spec.resources.limits } : {}),
    ...portsOf(t, svc),
  }
}

/** The ports the task was created with (tasks from before 0.5: its service's). */
function portsOf(t: Task, svc: Service | undefined): { ports?: PublishedPort[] } {
  const ports = t.spec !== undefined ? t.spec.ports : svc?.spec.ports
  return ports !== undefined && ports.length > 0 ? { ports } : {}
}

/** One structured line when a task turns rejected, failed or orphaned. */
export function logTransitions(logger: Logger, before: Task | undefined, after: Task): void {
  if (before?.state === after.state) return
  const fields = {
    task: after.id,
    service: after.serviceId,
    slot: after.slot,
    node: after.nodeId,
    error: after.error,
    ...(after.exitCode !== undefined ? { exitCode: after.exitCode } : {}),
  }
  if (after.state === 'rejected') logger.warn('task rejected', fields)
  else if (after.state === 'failed') logger.warn('task failed', fields)
  else if (after.state === 'orphaned') logger.warn('task orphaned', fields)
}
