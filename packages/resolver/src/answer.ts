/**
 * The resolver's decisions, pure: a decoded query and the cluster's view → the response to
 * send, or "forward it upstream". No sockets here (server.ts), so every rule is unit-tested.
 *
 * - One question per query (as every stub resolver sends); anything else is FORMERR.
 * - A cluster name the asking task may see: A records (TTL {@link CLUSTER_TTL_S}); other
 *   types of it: NOERROR without answers, so stubs do not go on to search other domains.
 * - A cluster name the task may not see: NXDOMAIN. Any other name goes upstream.
 * - Over UDP an answer larger than the client's limit (512, or its EDNS size up to 4096) is
 *   sent truncated (TC, no answers) and the client asks again over TCP.
 */
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet'

/** What the cluster knows about a name, for one asking task. */
export type LookupResult =
  /** the name's addresses (a VIP, task IPs); may be empty (no running task) */
  | { readonly kind: 'a'; readonly ips: readonly string[] }
  /** a cluster name this task may not see (no shared network) */
  | { readonly kind: 'nxdomain' }
  /** not a cluster name */
  | undefined

/** Looks `name` (lowercase, no trailing dot) up for the task whose address is `client`. */
export type Lookup = (client: string, name: string) => LookupResult

export const CLUSTER_TTL_S = 600
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 } as const
const UDP_MIN = 512
const UDP_MAX = 4096

export type Decision = { readonly respond: Packet } | { readonly forward: true }

/** The response to `q` from `client`, or `forward` when the name is not the cluster's. */
export function decide(q: DecodedPacket, client: string, lookup: Lookup): Decision {
  const question = q.questions?.[0]
  if (q.type !== 'query' || question === undefined || q.questions?.length !== 1)
    return { respond: reply(q, RCODE.FORMERR, []) }
  const name = question.name.toLowerCase().replace(/\.$/, '')
  const found = lookup(client, name)
  if (found === undefined) return { forward: true }
  if (found.kind === 'nxdomain') return { respond: reply(q, RCODE.NXDOMAIN, []) }
  const answers: Answer[] =
    question.type === 'A'
      ? found.ips.map((ip) => ({ type: 'A', name: question.name, ttl: CLUSTER_TTL_S, class: 'IN', data: ip }))
      : []
  return { respond: reply(q, RCODE.NOERROR, answers) }
}

/** SERVFAIL for `q` (upstream unreachable). */
export function serverFailure(q: DecodedPacket): Packet {
  return reply(q, RCODE.SERVFAIL, [])
}

/** The largest UDP answer this client takes: 512, or what its EDNS record says (≤ 4096). */
export function udpLimit(q: DecodedPacket): number {
  const opt = q.additionals?.find((a) => a.type === 'OPT')
  const size = opt !== undefined && 'udpPayloadSize' in opt ? opt.udpPayloadSize : UDP_MIN
  return Math.min(UDP_MAX, Math.max(UDP_MIN, size))
}

/** Encodes `p` for UDP within `limit` bytes: when it does not fit, truncated (TC, no records). */
export function encodeUdp(p: Packet, limit: number): { bytes: Buffer; truncated: boolean } {
  const full = dnsPacket.encode(p)
  if (full.length <= limit) return { bytes: full, truncated: false }
  const cut: Packet = {
    ...p,
    flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
    additionals: [],
  }
  return { bytes: dnsPacket.encode(cut), truncated: true }
}

function reply(q: DecodedPacket, rcode: number, answers: Answer[]): Packet {
  const rd = q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0
  return {
    type: 'response',
    id: q.id ?? 0,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | rd | rcode,
    questions: q.questions ?? [],
    answers,
  }
}
