/** Published ports (since 0.6): Docker's `Endpoint.Ports`, on the API and towards the nodes. */
import { z } from 'zod'
import { port } from './common.js'

/** The most ports one service publishes. */
export const MAX_PUBLISHED_PORTS = 16

/** The transport of a published port. */
export const portProtocol = z.enum(['tcp', 'udp'])
/** `ingress`: every node answers and balances over all tasks; `host`: only a task's own node. */
export const publishMode = z.enum(['ingress', 'host'])

/** A published port with every field filled in (what the manager stores and sends). */
export const publishedPort = z
  .object({ protocol: portProtocol, targetPort: port, publishedPort: port, publishMode })
  .strict()
export type PublishedPort = z.infer<typeof publishedPort>

/** As asked for: without `publishedPort` the manager allocates one (ingress mode only). */
export const publishedPortRequest = publishedPort.extend({ publishedPort: port.optional() }).strict()
export type PublishedPortRequest = z.infer<typeof publishedPortRequest>

/** `--publish-rm PUBLISHED[/PROTO]`: without `protocol`, every protocol of that port. */
export const publishRm = z.object({ publishedPort: port, protocol: portProtocol.optional() }).strict()
export type PublishRm = z.infer<typeof publishRm>

/** `PORT/PROTO`: an ingress port a node cannot serve (a host process holds it). */
export const portConflict = z.string().regex(/^\d{1,5}\/(tcp|udp)$/, 'port conflict: PORT/tcp or PORT/udp')
