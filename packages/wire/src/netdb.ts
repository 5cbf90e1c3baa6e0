/**
 * Messages of the endpoint gossip (`@swarmnet/netdb`), one topic per overlay network
 * (`/swarmnet/net/<networkId>/1.0.0`). JSON, versioned (`v: 1`), discriminated by `t`,
 * refused above {@link netdbLimits.messageBytes} before parsing, every field validated.
 */
import { InvalidInputError } from '@swarmnet/interface'
import { z } from 'zod'
import { ipv4, port } from './common.js'

/** Upper bounds of a netdb message. */
export const netdbLimits = {
  /** a whole encoded message; larger ones are refused before `JSON.parse` */
  messageBytes: 256 * 1024,
  /** entries (adds + deletes) in one message; an entry encodes to < 420 bytes (with its service) */
  entriesPerMessage: 1024,
  /** parts of one chunked full snapshot (so ≤ 1 Mi entries per owner and network) */
  snapshotParts: 1024,
  /** owners named in one sync request */
  ownersPerRequest: 1024,
} as const

/** Wire version; a receiver drops versions it does not know. */
export const NETDB_VERSION = 1

/** The endpoint MAC swarmnet assigns: `02:42:` then four bytes, lowercase hex. */
export const endpointMac = z.string().regex(/^02:42(:[0-9a-f]{2}){4}$/, 'MAC: 02:42:xx:xx:xx:xx, lowercase')
/** Node ids are 25 base36 characters in production; any short printable id is accepted (tests). */
export const netdbNodeId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'node id: printable ASCII')
/** Overlay network id: it becomes part of a topic name. */
export const netdbNetworkId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'network id: 1-64 of [A-Za-z0-9_.-]')
/** Lamport time of an owner's change. */
export const netdbLamport = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/** A DNS label-ish name (service name, task alias): what the resolver may answer for. */
const dnsName = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/, 'name: letters, digits, "_", "." and "-"')

/**
 * The service an entry belongs to (optional since 0.4; older receivers ignore it): a task
 * endpoint names its service, its aliases (hostname, task name) and whether it is `disabled`
 * (draining: out of every load balancer, still in the overlay); the manager's service-level
 * record has `vip` set — its `ip` is the service's VIP on this network, never a peer.
 */
export const netdbService = z.object({
  id: z.string().regex(/^[a-z0-9]{1,64}$/, 'service id: a-z, 0-9'),
  name: dnsName,
  vip: z.literal(true).optional(),
  aliases: z.array(dnsName).max(2).optional(),
  disabled: z.literal(true).optional(),
  /**
   * [publishedPort, targetPort, protocol] of the service's ingress-mode ports (since 0.6): only
   * on the service-level record (`vip`) on the ingress network.
   */
  ports: z
    .array(z.tuple([port, port, z.enum(['tcp', 'udp'])]))
    .max(16)
    .optional(),
})

/** One endpoint as its owner publishes it; `l` is the Lamport time of its last change. */
export const netdbEntry = z.object({
  ip: ipv4,
  mac: endpointMac,
  vtep: ipv4,
  l: netdbLamport,
  svc: netdbService.optional(),
})
/** A delete (the receiver keeps it as a tombstone). */
export const netdbDelete = z.object({ ip: ipv4, l: netdbLamport })

const head = { v: z.literal(NETDB_VERSION), network: netdbNetworkId }

/** Incremental changes by the owner. */
export const netdbEntries = z
  .object({
    ...head,
    t: z.literal('entries'),
    owner: netdbNodeId,
    adds: z.array(netdbEntry).max(netdbLimits.entriesPerMessage),
    dels: z.array(netdbDelete).max(netdbLimits.entriesPerMessage),
  })
  .refine((m) => m.adds.length + m.dels.length <= netdbLimits.entriesPerMessage, 'too many entries')

/**
 * Part `part` of `parts` of the owner's full snapshot at Lamport time `l`: authoritative for
 * everything of that owner up to `l` (an entry the receiver holds with a time ≤ `l` that is in
 * no part is deleted once all parts arrived).
 */
export const netdbFull = z
  .object({
    ...head,
    t: z.literal('full'),
    owner: netdbNodeId,
    l: netdbLamport,
    part: z.number().int().nonnegative(),
    parts: z.number().int().min(1).max(netdbLimits.snapshotParts),
    entries: z.array(netdbEntry).max(netdbLimits.entriesPerMessage),
  })
  .refine((m) => m.part < m.parts, 'part out of range')

/** The owner's summary of its own live entries on the network. */
export const netdbDigest = z.object({
  ...head,
  t: z.literal('digest'),
  owner: netdbNodeId,
  /** Lamport time of the owner's last change on this network */
  l: netdbLamport,
  count: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** first 64 bits of sha256 over the sorted live entries, hex */
  hash: z.string().regex(/^[0-9a-f]{16}$/),
})

/**
 * Asks the named owners (or, with `all`, every owner: the "hello" of a joining node) for a full
 * snapshot. `known` is the newest Lamport time the requester holds for that owner, so an owner
 * that restarted with a lower clock re-stamps its entries above it.
 */
export const netdbSyncRequest = z.object({
  ...head,
  t: z.literal('sync-request'),
  all: z.boolean(),
  owners: z.array(z.object({ owner: netdbNodeId, known: netdbLamport })).max(netdbLimits.ownersPerRequest),
})

export const netdbMessage = z.discriminatedUnion('t', [
  netdbEntries,
  netdbFull,
  netdbDigest,
  netdbSyncRequest,
])

export type NetdbWireEntry = z.infer<typeof netdbEntry>
export type NetdbService = z.infer<typeof netdbService>
export type NetdbMessage = z.infer<typeof netdbMessage>
export type NetdbEntriesMessage = z.infer<typeof netdbEntries>
export type NetdbFullMessage = z.infer<typeof netdbFull>
export type NetdbDigestMessage = z.infer<typeof netdbDigest>
export type NetdbSyncRequestMessage = z.infer<typeof netdbSyncRequest>

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Encodes a message; throws {@link InvalidInputError} if it is invalid or over the size limit. */
export function encodeNetdb(message: NetdbMessage): Uint8Array {
  const parsed = netdbMessage.safeParse(message)
  if (!parsed.success) throw new InvalidInputError(`invalid netdb message: ${parsed.error.message}`)
  const bytes = encoder.encode(JSON.stringify(parsed.data))
  if (bytes.length > netdbLimits.messageBytes) {
    throw new InvalidInputError(`netdb message is ${bytes.length} bytes, limit ${netdbLimits.messageBytes}`)
  }
  return bytes
}

/**
 * Decodes and validates a received message. Throws {@link InvalidInputError} for anything that
 * is not a valid v1 message (over the size limit, not UTF-8, not JSON, wrong shape).
 */
export function decodeNetdb(data: Uint8Array): NetdbMessage {
  if (data.length > netdbLimits.messageBytes) {
    throw new InvalidInputError(`netdb message is ${data.length} bytes, limit ${netdbLimits.messageBytes}`)
  }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(data))
  } catch (err) {
    throw new InvalidInputError('netdb message is not JSON', { cause: err })
  }
  const parsed = netdbMessage.safeParse(json)
  if (!parsed.success) throw new InvalidInputError(`invalid netdb message: ${parsed.error.message}`)
  return parsed.data
}
