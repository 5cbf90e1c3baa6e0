/** `service create` on the manager: the request validated, the record written with its VIPs. */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { ConflictError } from '@swarmnet/interface'
import type { Orchestrator, Service } from '@swarmnet/orchestrator'
import type { Table } from '@swarmnet/store'
import { newId } from './ids.js'
import type { NetworkService } from './networks.js'
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
  const networks = []
  for (const ref of req.networks) networks.push((await c.networks.find(ref, options)).id)
  const v = c.orch.validateService(
    {
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
    },
    existing,
  )
  if (req.global && req.replicas !== undefined)
    throw new ConflictError('--replicas cannot be used with --mode global')
  const now = c.clock.now()
  const id = newId()
  const base: Service = { id, ...v, version: 1, createdAt: now, updatedAt: now }
  // the VIPs are allocated with the record, before any task exists (dnsrr: none)
  const vipNets = v.spec.endpointMode === 'dnsrr' ? [] : v.spec.networks
  let svc = base
  await c.networks.allocateVips(
    id,
    vipNets,
    (virtualIps) => {
      svc = { ...base, virtualIps }
      return [c.services.putOp(id, svc)]
    },
    options,
  )
  c.logger.info('service created', { service: svc.id, name: svc.name })
  return svc
}
