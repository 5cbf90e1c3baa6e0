/** What the API shows of a service and of its tasks. */
import type { Node, Orchestrator, Service, Task } from '@swarmnet/orchestrator'
import { DEFAULT_UPDATE_CONFIG, isEligible, parseConstraint, satisfies } from '@swarmnet/orchestrator'
import type { ServiceViewJson, TaskJson } from '@swarmnet/wire'

/** `service ps` rows: every task of the service, with its node's name and its addresses. */
export function taskRows(
  orch: Orchestrator,
  svc: Service,
  tasks: readonly Task[],
  nodes: readonly Node[],
  nets: ReadonlyMap<string, string>,
  now: number,
): TaskJson[] {
  return orch.serviceTasksView(svc, tasks, nodes, now).map((v) => {
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
      ...(t.health !== undefined ? { health: t.health } : {}),
      addresses: (t.attachments ?? []).map((a) => ({
        network: nets.get(a.networkId) ?? a.networkId,
        ip: a.ip,
        mac: a.mac,
      })),
      createdAt: new Date(t.createdAt).toISOString(),
    }
  })
}

/** `service inspect` / `ls`: the spec, replicas running/desired, networks and VIPs. */
export function serviceView(
  orch: Orchestrator,
  s: Service,
  tasks: readonly Task[],
  nodes: readonly Node[],
  nets: ReadonlyMap<string, string>,
): ServiceViewJson {
  const v = orch.serviceView(s, tasks, nodes)
  return {
    id: s.id,
    name: s.name,
    mode: 'global' in s.mode ? 'global' : 'replicated',
    replicas: v.replicas,
    desired:
      'replicated' in s.mode
        ? s.mode.replicated.replicas
        : nodes.filter(
            (n) => isEligible(n) && satisfies(n, (s.spec.placement?.constraints ?? []).map(parseConstraint)),
          ).length,
    argv: s.spec.argv,
    ports: s.spec.ports ?? [],
    env: s.spec.env,
    networks: s.spec.networks.map((id) => ({ id, name: nets.get(id) ?? id })),
    endpointMode: s.spec.endpointMode ?? 'vip',
    virtualIPs: (s.virtualIps ?? []).map((vip) => ({
      network: nets.get(vip.networkId) ?? vip.networkId,
      addr: `${vip.ip}/${vip.prefix}`,
    })),
    restartCondition: s.restart.condition,
    restartPolicy: {
      condition: s.restart.condition,
      delayMs: s.restart.delayMs,
      maxAttempts: s.restart.maxAttempts,
      windowMs: s.restart.windowMs ?? 0,
    },
    ...(s.spec.health ? { healthCheck: s.spec.health } : {}),
    updateConfig: s.update ?? DEFAULT_UPDATE_CONFIG,
    rollbackConfig: s.rollback ?? DEFAULT_UPDATE_CONFIG,
    ...(s.updateStatus
      ? {
          updateStatus: {
            state: s.updateStatus.state,
            startedAt: new Date(s.updateStatus.startedAt).toISOString(),
            ...(s.updateStatus.completedAt !== undefined
              ? { completedAt: new Date(s.updateStatus.completedAt).toISOString() }
              : {}),
            message: s.updateStatus.message,
          },
        }
      : {}),
    version: s.version,
    placement: s.spec.placement ?? {},
    resources: s.spec.resources ?? {},
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  }
}
