/**
 * The cluster's ingress network (Docker's `ingress`): the overlay of the routing mesh. Created
 * when the manager starts without one (at `init`, on `--ingress-subnet` or a subnet from the
 * pool; for clusters from before 0.6, at their first start on 0.6). Every node has a load
 * balancer address on it (`lbEndpointId(node)`), whether or not it runs a task: its ingress
 * namespace. A service publishing an ingress-mode port is on it implicitly: a VIP there, and
 * an address there for each of its tasks; no service may name it in `--network`.
 */
import { createAllocator } from '@swarmnet/allocator'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import { InvalidInputError } from '@swarmnet/interface'
import type { EndpointView } from '@swarmnet/wire'
import { networkSpecOf } from './network-views.js'
import type { NetworkService } from './networks.js'
import type { NetworkRecord } from './records.js'
import { lbEndpointId } from './task-addresses.js'

/** The ingress network's name, as Docker's. */
export const INGRESS_NAME = 'ingress'

/** `init --ingress-subnet`: a subnet the allocator takes in this pool, not holding the node's address. */
export function checkIngressSubnet(
  subnet: string,
  pool: { pools: string[]; size: number },
  advertiseAddr: string,
): void {
  try {
    createAllocator({ defaultAddrPools: pool.pools, subnetSize: pool.size }).allocateNetwork({
      id: 'ingress',
      name: INGRESS_NAME,
      subnet,
      avoid: [advertiseAddr],
    })
  } catch (err) {
    throw new InvalidInputError(`invalid --ingress-subnet ${subnet}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

/** Creates the ingress network unless the cluster has one; a user network named `ingress` blocks it. */
export async function ensureIngress(
  networks: NetworkService,
  logger: Logger,
  subnet?: string,
  options?: AbortOptions,
): Promise<NetworkRecord | undefined> {
  const have = await networks.ingress(options)
  if (have !== undefined) return have
  if ((await networks.allNetworks(options)).some((n) => n.name === INGRESS_NAME)) {
    logger.warn('no ingress network: a network named ingress exists; published ports need it removed', {})
    return undefined
  }
  await networks.create(
    { name: INGRESS_NAME, driver: 'overlay', subnet, attachable: false, options: {}, ingress: true },
    options,
  )
  return networks.ingress(options)
}

/** Refuses an explicit attachment to the ingress network (`--network ingress`). */
export function refuseIngressAttach(n: NetworkRecord): void {
  if (n.ingress === true)
    throw new InvalidInputError(
      `service cannot be explicitly attached to the ingress network "${n.name}": publish a port instead`,
    )
}

/** The ingress network and a node's load balancer address on it (the sync answer's `ingress`). */
export interface NodeIngress {
  network: EndpointView['network']
  lb: string
}

/**
 * Each node's LB address on the ingress network, allocated at its first sync and cached: an
 * idle node's sync writes nothing. The address goes with the node (NetworkService.releaseNode); a
 * removed node never syncs again (its certificate is revoked), so its cache entry is never read.
 */
export class IngressLbs {
  /** node id → its address, for the ingress network id it was allocated on */
  private readonly cache = new Map<string, { networkId: string; lb: string }>()

  constructor(private readonly networks: NetworkService) {}

  async of(nodeId: string, options?: AbortOptions): Promise<NodeIngress | undefined> {
    const n = await this.networks.ingress(options)
    if (n === undefined) return undefined
    let got = this.cache.get(nodeId)
    if (got?.networkId !== n.id) {
      const lb = await this.networks.transact(
        (a) => ({ result: a.allocateEndpoint(n.id, lbEndpointId(nodeId)).ip, ops: [] }),
        options,
      )
      got = { networkId: n.id, lb }
      this.cache.set(nodeId, got)
    }
    return { network: networkSpecOf(n), lb: got.lb }
  }
}
