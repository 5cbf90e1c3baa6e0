/** `service create` on the manager: the request validated, the record written with its VIPs. */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { ConflictError } from '@swarmnet/interface'
import type { Orchestrator, PublishedPort, Service } from '@swarmnet/orchestrator'
import type { Table } from '@swarmnet/store'
import { newId } from './ids.js'
import { refuseIngressAttach } from './ingress.js'
import type { NetworkService } from './networks.js'
import { allocateServicePorts, withIngressVip } from './service-ports.js'
import type { ServiceCreate } from './service-requests.js'

export interface ServiceCreateComponents {
  clock: Clock
  logger: Logger
  networks: NetworkService
  orch: Orchestrator
  services: Table<Service>
}

/** Validates `req` against the `existing` services and stores it (call it inside the write queue). */
export async function createService(
  c: ServiceCreateComponents,
  req: ServiceCreate,
  existing: readonly Service[],
  options?: AbortOptions,
): Promise<Service> {
  const networks: string[] = []
  for (const ref of req.networks) {
    const n = await c.networks.find(ref, options)
    refuseIngressAttach(n)
    networks.push(n.id)
  }
  const ingressId = (await c.networks.ingress(options))?.id
  const now = c.clock.now()
  const id = newId()
  const input = (ports: PublishedPort[]) => ({
    name: req.name,
    mode: req.global ? { global: {} } : { replicated: { replicas: req.replicas ?? 1 } },
    argv: req.argv,
    env: req.env,
    networks,
    endpointMode: req.endpointMode,
    restart: { condition: req.restartCondition, ...req.restart },
    ...(req.update ? { update: req.update } : {}),
    ...(req.health ? { health: req.health } : {}),
    ...(req.rollback ? { rollback: req.rollback } : {}),
    ...(req.placement !== undefined ? { placement: req.placement } : {}),
    ...(req.resources !== undefined ? { resources: req.resources } : {}),
    ports,
  })
  // the spec without its ports first: a bad name or argv is not a port allocation's error
  c.orch.validateService(input([]), existing)
  if (req.global && req.replicas !== undefined)
    throw new ConflictError('--replicas cannot be used with --mode global')
  // ports, VIPs and the record in one batch, before any task exists (dnsrr: no VIPs)
  const svc = await c.networks.transact((a) => {
    const v = c.orch.validateService(
      input(allocateServicePorts(a, { id, name: req.name }, req.ports ?? [], existing)),
      existing,
    )
    const base: Service = { id, ...v, version: 1, createdAt: now, updatedAt: now }
    const vips = (v.spec.endpointMode === 'dnsrr' ? [] : v.spec.networks).map((networkId) => {
      const got = a.allocateVip(networkId, id)
      return { networkId, ip: got.ip, prefix: Number(got.address.split('/')[1]) }
    })
    const s = { ...base, virtualIps: withIngressVip(a, { ...base, virtualIps: vips }, ingressId) }
    return { result: s, ops: [c.services.putOp(id, s)] }
  }, options)
  c.logger.info('service created', { service: svc.id, name: svc.name })
  return svc
}
