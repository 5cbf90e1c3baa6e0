/**
 * Published ports: Docker's `Endpoint.Ports`. `ingress` ports are answered by every node and
 * balanced over all the service's tasks; `host` ports only by the nodes that run a task, straight
 * to it — so two tasks publishing the same host-mode port and protocol never share a node
 * (swarmkit's HostPortFilter, in schedule.ts).
 */
import { InvalidServiceSpecError } from './errors.js'
import type { EndpointMode, PublishedPort } from './types.js'

/** The most ports one service publishes. */
export const MAX_PORTS = 16

const isPort = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535

/** `8080/tcp`: a published port's identity (at most one service publishes it cluster-wide). */
export const portKey = (p: Pick<PublishedPort, 'publishedPort' | 'protocol'>): string =>
  `${p.publishedPort}/${p.protocol}`

/** Docker's `*:8080->80/tcp` (ingress) and `8080->80/tcp` (host). */
export const formatPort = (p: PublishedPort): string =>
  `${p.publishMode === 'ingress' ? '*:' : ''}${p.publishedPort}->${p.targetPort}/${p.protocol}`

/**
 * Complete ports (the manager has allocated the missing published ones), each published port
 * and protocol once; `dnsrr` refused with an ingress port, as Docker does.
 */
export function validatePorts(ports: unknown, endpointMode: EndpointMode): PublishedPort[] {
  if (ports === undefined) return []
  if (!Array.isArray(ports)) throw new InvalidServiceSpecError('ports must be a list')
  if (ports.length > MAX_PORTS) throw new InvalidServiceSpecError(`at most ${MAX_PORTS} published ports`)
  const seen = new Set<string>()
  const out: PublishedPort[] = []
  for (const p of ports as Array<Partial<Record<keyof PublishedPort, unknown>>>) {
    if (typeof p !== 'object' || p === null) throw new InvalidServiceSpecError('a port must be an object')
    const { protocol, targetPort, publishedPort, publishMode } = p
    if (protocol !== 'tcp' && protocol !== 'udp')
      throw new InvalidServiceSpecError(`invalid protocol '${String(protocol)}': must be tcp or udp`)
    if (publishMode !== 'ingress' && publishMode !== 'host')
      throw new InvalidServiceSpecError(
        `invalid publish mode '${String(publishMode)}': must be ingress or host`,
      )
    if (!isPort(targetPort)) throw new InvalidServiceSpecError(`invalid target port ${String(targetPort)}`)
    if (!isPort(publishedPort))
      throw new InvalidServiceSpecError(`invalid published port ${String(publishedPort)}`)
    const port: PublishedPort = { protocol, targetPort, publishedPort, publishMode }
    if (seen.has(portKey(port)))
      throw new InvalidServiceSpecError(`published port ${portKey(port)} is given twice`)
    seen.add(portKey(port))
    out.push(port)
  }
  if (endpointMode === 'dnsrr' && out.some((p) => p.publishMode === 'ingress'))
    throw new InvalidServiceSpecError("port published with ingress mode can't be used with dnsrr mode")
  return out
}

/** Same ports in the same order. */
export function samePorts(a: readonly PublishedPort[] = [], b: readonly PublishedPort[] = []): boolean {
  return a.length === b.length && a.every((p, i) => formatPort(p) === formatPort(b[i] as PublishedPort))
}

/** The service publishes at least one ingress-mode port: it is on the ingress network. */
export const hasIngressPorts = (ports: readonly PublishedPort[] | undefined): boolean =>
  (ports ?? []).some((p) => p.publishMode === 'ingress')
