/**
 * @packageDocumentation
 * Deterministic network allocation for the manager (swarmkit's allocator + libnetwork's
 * ovmanager/IPAM roles): VNIs from 4096, subnets carved from the default address pools,
 * gateways, endpoint IPs (with their `02:42:` MACs), per-network service VIPs and
 * cluster-wide published ports. No I/O, no clock, no randomness: the whole state is
 * {@link Allocator.snapshot}, which the caller persists (with the objects it allocated for,
 * in one store batch) and passes back to {@link createAllocator} on restart. Every method is
 * all-or-nothing: when it throws, the state is unchanged. If persisting fails, rebuild the
 * allocator from the last persisted snapshot.
 *
 * @example
 * ```ts
 * const allocator = createAllocator({ snapshot: await state.get('allocator') })
 * const net = allocator.allocateNetwork({ id: 'n1', name: 'front' })
 * // { vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', ... }
 * const ep = allocator.allocateEndpoint('n1', 'task-1')
 * // { ip: '10.0.0.2', address: '10.0.0.2/24', mac: '02:42:0a:00:00:02', ... }
 * const ports = allocator.allocatePorts({ id: 's1', name: 'web' }, [{ protocol: 'tcp', targetPort: 80 }])
 * // [{ protocol: 'tcp', targetPort: 80, publishedPort: 30000 }]
 * await state.put('allocator', allocator.snapshot())
 * ```
 */
import { DefaultAllocator } from './allocator.js'

export interface AllocatorInit {
  /** Pools that subnets of networks created without `subnet` are carved from, in order. @default ['10.0.0.0/8'] */
  defaultAddrPools?: readonly string[]
  /** Prefix length of the subnets carved from the pools (`--default-addr-pool-mask-len`). @default 24 */
  subnetSize?: number
  /** State to resume from, as returned by {@link Allocator.snapshot}; replayed through the usual checks. */
  snapshot?: AllocatorSnapshot
}

export interface NetworkRequest {
  /** The network object's id; allocations are keyed by it. */
  id: string
  /** Shown in messages ("overlaps network 'front'"). */
  name: string
  /** IPv4 CIDR, prefix /8 to /29, no host bits; must overlap no other network. @default next free pool subnet */
  subnet?: string
  /** Inside `subnet`, neither its network nor its broadcast address; needs `subnet`. @default first host (.1) */
  gateway?: string
  /** Pinned VXLAN id (1 to 2^24-1). @default lowest free from 4096 */
  vni?: number
  /** Host addresses of `subnet` never handed out (like `--aux-address`); needs `subnet`. */
  reserved?: readonly string[]
  /**
   * Addresses the subnet must not contain (the nodes' underlay addresses): an explicit subnet
   * holding one is refused, a subnet from the pool is picked around them.
   */
  avoid?: readonly string[]
}

export interface NetworkAllocation {
  id: string
  name: string
  vni: number
  /** `10.0.0.0/24` */
  subnet: string
  /** `10.0.0.1` */
  gateway: string
  reserved: string[]
}

export interface AddressAllocation {
  networkId: string
  /** `10.0.0.2` */
  ip: string
  /** The ip with the subnet's prefix: `10.0.0.2/24` */
  address: string
}

export interface EndpointAllocation extends AddressAllocation {
  /** `02:42:` + the IPv4 bytes: `02:42:0a:00:00:02` */
  mac: string
}

export interface AddressOptions {
  /** A specific host address of the subnet instead of the lowest free one. */
  ip?: string
}

export type Protocol = 'tcp' | 'udp'

export interface PortRequest {
  protocol: Protocol
  targetPort: number
  /** 1-65535; omitted or 0 picks the lowest free port in 30000-32767 (kept across updates). */
  publishedPort?: number
}

export interface PublishedPort {
  protocol: Protocol
  targetPort: number
  publishedPort: number
}

export interface ServiceRef {
  id: string
  /** Shown to other services' owners in conflicts. */
  name: string
}

export interface NetworkSnapshot extends NetworkAllocation {
  /** endpoint id → ip */
  endpoints: Record<string, string>
  /** service id → VIP */
  vips: Record<string, string>
  /** The address handed out last: the next allocation starts after it. Absent before the first. */
  last?: string
}

export interface PortSnapshot extends PublishedPort {
  serviceId: string
  serviceName: string
  /** Picked from the dynamic range (kept stable across updates) rather than asked for. */
  dynamic: boolean
}

/** Plain JSON; sorted, so equal states give equal snapshots. */
export interface AllocatorSnapshot {
  version: 1
  networks: NetworkSnapshot[]
  ports: PortSnapshot[]
}

export interface Allocator {
  /** VNI, subnet and gateway for a new network. Throws if the id is already allocated. */
  allocateNetwork(request: NetworkRequest): NetworkAllocation
  /** Frees the network's VNI and subnet with all its endpoints and VIPs; `false` if unknown. */
  releaseNetwork(networkId: string): boolean
  network(networkId: string): NetworkAllocation | undefined
  /** The endpoint's address on the network; asking again returns the same one. */
  allocateEndpoint(networkId: string, endpointId: string, options?: AddressOptions): EndpointAllocation
  releaseEndpoint(networkId: string, endpointId: string): boolean
  /** The service's VIP on the network (one per service per network); asking again returns the same one. */
  allocateVip(networkId: string, serviceId: string, options?: AddressOptions): AddressAllocation
  releaseVip(networkId: string, serviceId: string): boolean
  /** Replaces the service's cluster-wide published ports; results are in request order. */
  allocatePorts(service: ServiceRef, ports: readonly PortRequest[]): PublishedPort[]
  releasePorts(serviceId: string): boolean
  snapshot(): AllocatorSnapshot
}

export function createAllocator(init: AllocatorInit = {}): Allocator {
  return new DefaultAllocator(init)
}

export { macForIPv4 } from './allocator.js'
export {
  AddressExhaustedError,
  AddressInUseError,
  DuplicatePortError,
  InvalidAddressError,
  InvalidGatewayError,
  InvalidRequestError,
  InvalidSnapshotError,
  InvalidSubnetError,
  NetworkExistsError,
  NetworkNotFoundError,
  PoolExhaustedError,
  PortExhaustedError,
  PortInUseError,
  SubnetOverlapError,
  VniExhaustedError,
  VniInUseError,
} from './errors.js'
