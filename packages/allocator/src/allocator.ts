import {
  InvalidRequestError,
  InvalidSnapshotError,
  NetworkExistsError,
  NetworkNotFoundError,
  VniExhaustedError,
  VniInUseError,
} from './errors.js'
import { checkId } from './ids.js'
import type {
  AddressAllocation,
  AddressOptions,
  Allocator,
  AllocatorInit,
  AllocatorSnapshot,
  EndpointAllocation,
  NetworkAllocation,
  NetworkRequest,
  PortRequest,
  PublishedPort,
  ServiceRef,
} from './index.js'
import { compare, NetworkIpam } from './ipam.js'
import { macOf, parseBlock, parseIPv4 } from './ipv4.js'
import { checkRequest, PortTable } from './ports.js'
import { chooseSubnet, type PoolConfig } from './subnets.js'

export const VNI_FIRST = 4096
export const VNI_MAX = 2 ** 24 - 1

/** All allocator state is here and in {@link AllocatorSnapshot}; nothing else is kept. */
export class DefaultAllocator implements Allocator {
  readonly #pool: PoolConfig
  readonly #networks = new Map<string, NetworkIpam>()
  readonly #vnis = new Map<number, string>()
  readonly #ports = new PortTable()

  constructor(init: AllocatorInit) {
    this.#pool = poolConfig(init)
    if (init.snapshot !== undefined) this.#restore(init.snapshot)
  }

  allocateNetwork(request: NetworkRequest): NetworkAllocation {
    checkId(request.id, 'network id')
    checkId(request.name, 'network name')
    const existing = this.#networks.get(request.id)
    if (existing !== undefined) {
      throw new NetworkExistsError(`network '${existing.name}' (${request.id}) is already allocated`)
    }
    const vni = request.vni === undefined ? this.#lowestVni() : this.#checkVni(request.vni)
    const { block, gateway, reserved } = chooseSubnet(request, this.#networks.values(), this.#pool)
    const network = new NetworkIpam(request.id, request.name, vni, block, gateway, reserved)
    this.#networks.set(request.id, network)
    this.#vnis.set(vni, request.id)
    return network.info()
  }

  releaseNetwork(networkId: string): boolean {
    const network = this.#networks.get(networkId)
    if (network === undefined) return false
    this.#networks.delete(networkId)
    this.#vnis.delete(network.vni)
    return true
  }

  network(networkId: string): NetworkAllocation | undefined {
    return this.#networks.get(networkId)?.info()
  }

  allocateEndpoint(networkId: string, endpointId: string, options?: AddressOptions): EndpointAllocation {
    checkId(endpointId, 'endpoint id')
    const address = this.#network(networkId).allocate('endpoint', endpointId, options?.ip)
    return { ...address, mac: macForIPv4(address.ip) }
  }

  releaseEndpoint(networkId: string, endpointId: string): boolean {
    return this.#networks.get(networkId)?.release('endpoint', endpointId) ?? false
  }

  allocateVip(networkId: string, serviceId: string, options?: AddressOptions): AddressAllocation {
    checkId(serviceId, 'service id')
    return this.#network(networkId).allocate('vip', serviceId, options?.ip)
  }

  releaseVip(networkId: string, serviceId: string): boolean {
    return this.#networks.get(networkId)?.release('vip', serviceId) ?? false
  }

  allocatePorts(service: ServiceRef, ports: readonly PortRequest[]): PublishedPort[] {
    checkId(service.name, 'service name')
    return this.#ports.allocate(service, ports)
  }

  releasePorts(serviceId: string): boolean {
    return this.#ports.release(serviceId)
  }

  snapshot(): AllocatorSnapshot {
    const networks = [...this.#networks.values()].sort((a, b) => compare(a.id, b.id)).map((n) => n.snapshot())
    return { version: 1, networks, ports: this.#ports.snapshot() }
  }

  #network(networkId: string): NetworkIpam {
    const network = this.#networks.get(networkId)
    if (network === undefined) throw new NetworkNotFoundError(`network ${networkId} is not allocated`)
    return network
  }

  #lowestVni(): number {
    for (let vni = VNI_FIRST; vni <= VNI_MAX; vni++) if (!this.#vnis.has(vni)) return vni
    throw new VniExhaustedError(`no free VNI left in ${VNI_FIRST}-${VNI_MAX}; remove a network`)
  }

  #checkVni(vni: number): number {
    if (!Number.isInteger(vni) || vni < 1 || vni > VNI_MAX) {
      throw new InvalidRequestError(`VNI ${vni} is out of range; use 1-${VNI_MAX}`)
    }
    const holder = this.#vnis.get(vni)
    if (holder !== undefined) {
      throw new VniInUseError(`VNI ${vni} is already used by network '${this.#networks.get(holder)?.name}'`)
    }
    return vni
  }

  /** Replays a snapshot through the same checks as live requests, so a bad one fails loudly. */
  #restore(snapshot: AllocatorSnapshot): void {
    try {
      if (snapshot.version !== 1)
        throw new InvalidRequestError(`unknown snapshot version ${String(snapshot.version)}`)
      for (const n of snapshot.networks) {
        this.allocateNetwork({ ...n, reserved: [...n.reserved] })
        for (const [id, ip] of Object.entries(n.endpoints)) this.allocateEndpoint(n.id, id, { ip })
        for (const [id, ip] of Object.entries(n.vips)) this.allocateVip(n.id, id, { ip })
        if (n.last !== undefined) this.#network(n.id).resumeAfter(n.last)
      }
      const byService = Map.groupBy(snapshot.ports, (p) => p.serviceId)
      for (const [id, ports] of byService) {
        const name = ports[0]?.serviceName ?? id
        this.#ports.assign(
          { id, name },
          ports.map((p) => ({ ...checkRequest(p), dynamic: p.dynamic === true })),
        )
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      throw new InvalidSnapshotError(`allocator snapshot is inconsistent: ${reason}`, { cause: err })
    }
  }
}

/** The MAC swarmnet gives the endpoint with IPv4 `ip`: `02:42:` followed by the four address bytes. */
export function macForIPv4(ip: string): string {
  const n = parseIPv4(ip)
  if (n === undefined) throw new InvalidRequestError(`'${ip}' is not an IPv4 address like 10.0.0.5`)
  return macOf(n)
}

function poolConfig(init: AllocatorInit): PoolConfig {
  const pools = (init.defaultAddrPools ?? ['10.0.0.0/8']).map((p) => parseBlock(p, 'default address pool'))
  if (pools.length === 0) throw new InvalidRequestError('default address pools must not be empty')
  const subnetSize = init.subnetSize ?? 24
  const narrowest = Math.max(...pools.map((p) => p.prefix))
  if (!Number.isInteger(subnetSize) || subnetSize < narrowest || subnetSize > 29) {
    throw new InvalidRequestError(
      `subnet size /${subnetSize} must be between /${narrowest} (the pool) and /29`,
    )
  }
  return { pools, subnetSize }
}
