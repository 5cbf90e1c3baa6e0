import { DuplicatePortError, InvalidRequestError, PortExhaustedError, PortInUseError } from './errors.js'
import { checkId } from './ids.js'
import type { PortRequest, PortSnapshot, Protocol, PublishedPort, ServiceRef } from './index.js'
import { compare } from './ipam.js'

/** Where ports come from when a request publishes none. */
export const DYNAMIC_PORTS = { first: 30000, last: 32767 } as const

interface Holder {
  serviceId: string
  serviceName: string
  targetPort: number
  dynamic: boolean
}

interface Wanted {
  protocol: Protocol
  targetPort: number
  publishedPort: number | undefined
  /** Only restores pass `true` with a port: it was picked from the dynamic range. */
  dynamic: boolean
}

const key = (protocol: Protocol, port: number): string => `${port}/${protocol}`

/** Cluster-wide published (ingress) ports, per protocol. */
export class PortTable {
  readonly #holders = new Map<string, Holder>()
  readonly #byService = new Map<string, string[]>()

  /** Replaces the ports of `service` all-or-nothing; a dynamic port stays stable across calls. */
  allocate(service: ServiceRef, requests: readonly PortRequest[]): PublishedPort[] {
    return this.assign(
      service,
      requests.map((r) => ({ ...checkRequest(r), dynamic: false })),
    )
  }

  release(serviceId: string): boolean {
    const keys = this.#byService.get(serviceId)
    if (keys === undefined) return false
    for (const k of keys) this.#holders.delete(k)
    this.#byService.delete(serviceId)
    return true
  }

  snapshot(): PortSnapshot[] {
    return [...this.#holders]
      .map(([k, h]): PortSnapshot => {
        const [port, protocol] = k.split('/') as [string, Protocol]
        return { protocol, publishedPort: Number(port), ...h }
      })
      .sort((a, b) => compare(a.protocol, b.protocol) || a.publishedPort - b.publishedPort)
  }

  assign(service: ServiceRef, wanted: readonly Wanted[]): PublishedPort[] {
    checkId(service.id, 'service id')
    const mine = (k: string): boolean => this.#holders.get(k)?.serviceId === service.id
    const next = new Map<string, Holder>()
    const hold = (w: Wanted, port: number, dynamic: boolean): PublishedPort => {
      const { id: serviceId, name: serviceName } = service
      next.set(key(w.protocol, port), { serviceId, serviceName, targetPort: w.targetPort, dynamic })
      return { protocol: w.protocol, targetPort: w.targetPort, publishedPort: port }
    }
    for (const w of wanted) {
      if (w.publishedPort === undefined) continue
      const k = key(w.protocol, w.publishedPort)
      if (next.has(k)) throw new DuplicatePortError(`port ${k} is published twice; publish each port once`)
      const other = this.#holders.get(k)
      if (other !== undefined && other.serviceId !== service.id) {
        throw new PortInUseError(
          `port ${k} is already published by service '${other.serviceName}' (${other.serviceId})`,
        )
      }
      hold(w, w.publishedPort, w.dynamic)
    }
    // Dynamic ports this service held before, so an update keeps them.
    const previous = [...this.#holders].filter(([k, h]) => h.dynamic && mine(k))
    const free = (k: string): boolean => !next.has(k) && (!this.#holders.has(k) || mine(k))
    // Free ports only get taken during this call, so the search may resume where it stopped.
    const cursor: Record<Protocol, number> = { tcp: DYNAMIC_PORTS.first, udp: DYNAMIC_PORTS.first }
    const lowest = (protocol: Protocol): number => {
      const port = this.#lowestDynamic(protocol, free, cursor[protocol])
      cursor[protocol] = port + 1
      return port
    }
    const result = wanted.map((w) => {
      if (w.publishedPort !== undefined) {
        return { protocol: w.protocol, targetPort: w.targetPort, publishedPort: w.publishedPort }
      }
      const kept = previous.find(
        ([k, h]) => h.targetPort === w.targetPort && k.endsWith(`/${w.protocol}`) && free(k),
      )
      return hold(w, kept === undefined ? lowest(w.protocol) : Number.parseInt(kept[0], 10), true)
    })
    this.release(service.id)
    for (const [k, h] of next) this.#holders.set(k, h)
    if (next.size > 0) this.#byService.set(service.id, [...next.keys()])
    return result
  }

  #lowestDynamic(protocol: Protocol, free: (k: string) => boolean, from: number): number {
    for (let port = from; port <= DYNAMIC_PORTS.last; port++) {
      if (free(key(protocol, port))) return port
    }
    throw new PortExhaustedError(
      `no free ${protocol} port left in ${DYNAMIC_PORTS.first}-${DYNAMIC_PORTS.last}; publish an explicit port or remove a service`,
    )
  }
}

export function checkRequest(r: PortRequest): Omit<Wanted, 'dynamic'> {
  if (r.protocol !== 'tcp' && r.protocol !== 'udp') {
    throw new InvalidRequestError(`protocol '${String(r.protocol)}' is not supported; use tcp or udp`)
  }
  checkPort(r.targetPort, 'target port')
  const published = r.publishedPort === 0 ? undefined : r.publishedPort
  if (published !== undefined) checkPort(published, 'published port')
  return { protocol: r.protocol, targetPort: r.targetPort, publishedPort: published }
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidRequestError(`${what} ${port} is out of range; use 1-65535`)
  }
}
