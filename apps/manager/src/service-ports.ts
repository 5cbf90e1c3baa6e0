/**
 * A service's published ports on the manager. Ingress-mode ports are cluster-wide: each port
 * and protocol belongs to one service, in the allocator's port table (committed with the
 * service record in one batch; a missing published port comes from 30000–32767 and stays
 * across updates; `service rm` frees them). Host-mode ports are per node (the scheduler's
 * host-port filter), so two services may share one, but never with an ingress port.
 */
import type { Allocator } from '@swarmnet/allocator'
import type { AbortOptions, Clock } from '@swarmnet/interface'
import { ConflictError, InvalidInputError, NotFoundError } from '@swarmnet/interface'
import {
  hasIngressPorts,
  type Orchestrator,
  type PublishedPort,
  portKey,
  type Service,
  type ServicePatch,
  type TaskSpec,
  type VirtualIp,
} from '@swarmnet/orchestrator'
import type { BatchOp, Table } from '@swarmnet/store'
import type { PublishedPortRequest, PublishRm } from '@swarmnet/wire'
import type { NetworkService } from './networks.js'

/**
 * The ports of `service` as asked, complete: ingress ports allocated in `a` (replacing what the
 * service held there), host ports checked against the `others`' ingress ports.
 */
export function allocateServicePorts(
  a: Allocator,
  service: { id: string; name: string },
  requested: readonly PublishedPortRequest[],
  others: readonly Service[],
): PublishedPort[] {
  for (const p of requested)
    if (p.publishMode === 'host' && p.publishedPort === undefined)
      throw new InvalidInputError(
        `mode=host needs a published port (target ${p.targetPort}/${p.protocol}): only ingress ports are allocated`,
      )
  const ingress = requested.filter((p) => p.publishMode === 'ingress')
  const got = a.allocatePorts(service, ingress)
  const ports = requested.map((p) =>
    p.publishMode === 'ingress'
      ? { ...p, publishedPort: (got[ingress.indexOf(p)] as { publishedPort: number }).publishedPort }
      : { ...p, publishedPort: p.publishedPort as number },
  )
  const theirs = new Map<string, { service: Service; port: PublishedPort }>()
  for (const s of others)
    if (s.id !== service.id)
      for (const port of s.spec.ports ?? []) theirs.set(portKey(port), { service: s, port })
  for (const p of ports) {
    const other = theirs.get(portKey(p))
    // host beside host is the scheduler's business; an ingress port is every node's
    if (other === undefined || (p.publishMode === 'host' && other.port.publishMode === 'host')) continue
    throw new ConflictError(
      `port ${portKey(p)} is already published by service '${other.service.name}' (${other.service.id})`,
    )
  }
  return ports
}

/**
 * `--publish-rm` then `--publish-add` on the current ports. A port removed must be published
 * (without a protocol: each protocol of that port); a port added replaces the one with the same
 * published port and protocol.
 */
export function applyPublishChange(
  serviceName: string,
  current: readonly PublishedPort[],
  add: readonly PublishedPortRequest[] = [],
  rm: readonly PublishRm[] = [],
): PublishedPortRequest[] {
  let next: PublishedPortRequest[] = [...current]
  for (const r of rm) {
    const hit = (p: PublishedPortRequest) =>
      p.publishedPort === r.publishedPort && (r.protocol === undefined || p.protocol === r.protocol)
    if (!next.some(hit))
      throw new NotFoundError(
        `service ${serviceName} does not publish port ${r.publishedPort}${r.protocol ? `/${r.protocol}` : ''}`,
      )
    next = next.filter((p) => !hit(p))
  }
  for (const p of add) {
    if (p.publishedPort !== undefined)
      next = next.filter((q) => q.publishedPort !== p.publishedPort || q.protocol !== p.protocol)
    next.push(p)
  }
  return next
}

/**
 * The service's VIPs with its VIP on the ingress network taken or given back in `a`, as its
 * ports (and endpoint mode) now need it.
 */
export function withIngressVip(a: Allocator, s: Service, ingressId: string | undefined): VirtualIp[] {
  const vips = s.virtualIps ?? []
  const want = hasIngressPorts(s.spec.ports) && s.spec.endpointMode !== 'dnsrr'
  const has = vips.some((v) => v.networkId === ingressId)
  if (want && ingressId === undefined)
    throw new ConflictError('the cluster has no ingress network: ingress-mode ports cannot be published')
  if (ingressId === undefined || want === has) return vips
  if (!want) {
    a.releaseVip(ingressId, s.id)
    return vips.filter((v) => v.networkId !== ingressId)
  }
  const got = a.allocateVip(ingressId, s.id)
  return [...vips, { networkId: ingressId, ip: got.ip, prefix: Number(got.address.split('/')[1]) }]
}

/**
 * The networks a task of `s` needs an address on: its own, and the ingress network when the
 * spec it was created with (`spec`; before 0.5 none: its service's) publishes an ingress port.
 */
export function taskNetworks(s: Service | undefined, ingressId: string | undefined, spec?: TaskSpec) {
  const own = s?.spec.networks ?? []
  const ports = spec !== undefined ? spec.ports : s?.spec.ports
  return ingressId !== undefined && hasIngressPorts(ports) ? [...own, ingressId] : own
}

/** [published, target, protocol] of the ingress-mode ports: the ingress VIP record's `ports`. */
export function ingressPortTuples(
  ports: readonly PublishedPort[] = [],
): Array<[number, number, 'tcp' | 'udp']> {
  return ports
    .filter((p) => p.publishMode === 'ingress')
    .map((p) => [p.publishedPort, p.targetPort, p.protocol])
}

/** What {@link publishWrite} needs of the service controller. */
export interface PublishWriteComponents {
  networks: NetworkService
  orch: Orchestrator
  services: Table<Service>
  clock: Clock
  /** Every service (the others' ports are checked against the new ones). */
  all(options?: AbortOptions): Promise<Service[]>
}

/**
 * `service update --publish-add/--publish-rm`: the write of storeSpecChange that applies the
 * port change to the service as it was, allocates, and commits the ports and the ingress VIP
 * with the record (and the `stamped` tasks) in one batch.
 */
export function publishWrite(
  c: PublishWriteComponents,
  patch: Omit<ServicePatch, 'ports'>,
  add: readonly PublishedPortRequest[] | undefined,
  rm: readonly PublishRm[] | undefined,
  options?: AbortOptions,
): (before: Service) => (changed: Service, stamped: BatchOp[]) => Promise<Service> {
  return (before) => async (_, stamped) => {
    const others = await c.all(options)
    const ingressId = (await c.networks.ingress(options))?.id
    return c.networks.transact((a) => {
      const wanted = applyPublishChange(before.name, before.spec.ports ?? [], add, rm)
      const ports = allocateServicePorts(a, before, wanted, others)
      const next = c.orch.updateService(before, { ...patch, ports }, c.clock.now())
      const s = { ...next, virtualIps: withIngressVip(a, next, ingressId) }
      return { result: s, ops: [...stamped, c.services.putOp(s.id, s)] }
    }, options)
  }
}
