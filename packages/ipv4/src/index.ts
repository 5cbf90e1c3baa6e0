/**
 * @packageDocumentation
 * IPv4 addresses and CIDR blocks, the one place swarmnet parses them (on ipaddr.js).
 *
 * The surface is one value type, {@link Block} (an inclusive range of 32-bit unsigned
 * integers with its prefix), and pure functions over it and over addresses. Parsing is
 * strict: dotted quads of decimal octets without leading zeros (`10.0.0.1`, never `10.1`,
 * `0x0a.0.0.1` or `010.0.0.1`, which ipaddr.js alone would accept), because every address
 * may end up as an argument of an `ip -batch` line. Parsers return `undefined` for bad
 * input; callers throw their own named errors with their own wording.
 *
 * @example
 * ```ts
 * import { blockOf, contains, parseCidr, parseIpv4, subnetConflict } from '@swarmnet/ipv4'
 * const c = parseCidr('10.0.1.0/24')                // { ip: 167772416, prefix: 24 }
 * if (c === undefined) throw new Error('not a CIDR')
 * const net = blockOf(c.ip, c.prefix)              // { first: 167772416, last: 167772671, prefix: 24 }
 * contains(net, parseIpv4('10.0.1.7') ?? -1)       // true
 * subnetConflict(net, { underlay: [] })            // undefined: usable
 * subnetConflict(blockOf(2130706432, 8))           // 'overlaps loopback 127.0.0.0/8'
 * ```
 */
import ipaddr from 'ipaddr.js'

/** An IPv4 block as unsigned 32-bit integers: `[first, last]` inclusive, and its prefix length. */
export interface Block {
  readonly first: number
  readonly last: number
  readonly prefix: number
}

/** Whether `text` is a strict dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text)
}

/** Whether `text` is any IPv6 address (for "IPv6 is not supported" messages). */
export function isIpv6(text: string): boolean {
  return ipaddr.IPv6.isValid(text)
}

/** A strict dotted-quad IPv4 address as an unsigned integer, or `undefined`. */
export function parseIpv4(text: string): number | undefined {
  if (!isIpv4(text)) return undefined
  return ipaddr.IPv4.parse(text).octets.reduce((acc, b) => acc * 256 + b, 0)
}

/** An unsigned 32-bit integer as a dotted quad. */
export function formatIpv4(n: number): string {
  return octets(n).join('.')
}

/**
 * `a.b.c.d/p` with a strict address and a decimal prefix 0–32, or `undefined`. Host bits
 * may be set (`10.0.0.5/24` is an interface address); see {@link blockOf} for the network.
 */
export function parseCidr(text: string): { ip: number; prefix: number } | undefined {
  const [addr = '', bits = '', ...rest] = text.split('/')
  const ip = parseIpv4(addr)
  if (ip === undefined || rest.length > 0 || !/^(\d|[12]\d|3[0-2])$/.test(bits)) return undefined
  return { ip, prefix: Number(bits) }
}

/** `IP` or `IP:PORT` (port 1–65535, decimal), the port defaulting to `defaultPort`; or `undefined`. */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | undefined {
  const [host = '', p, ...rest] = text.split(':')
  if (!isIpv4(host) || rest.length > 0) return undefined
  if (p === undefined) return { host, port: defaultPort }
  const port = /^\d{1,5}$/.test(p) ? Number(p) : 0
  return port >= 1 && port <= 65535 ? { host, port } : undefined
}

/** Number of addresses in a block of `prefix`. */
export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix)
}

/** The block of length `prefix` that contains `ip` (host bits cleared). */
export function blockOf(ip: number, prefix: number): Block {
  const size = blockSize(prefix)
  const first = ip - (ip % size)
  return { first, last: first + size - 1, prefix }
}

/** `a.b.c.d/p` of a block's first address. */
export function formatBlock(block: Block): string {
  return `${formatIpv4(block.first)}/${block.prefix}`
}

/** Whether `inner` (an address or a block) lies entirely inside `block`. */
export function contains(block: Block, inner: number | Block): boolean {
  const [first, last] = typeof inner === 'number' ? [inner, inner] : [inner.first, inner.last]
  return first >= block.first && last <= block.last
}

/** Whether two blocks share at least one address. */
export function overlaps(a: Block, b: Block): boolean {
  return a.first <= b.last && b.first <= a.last
}

/** `02:42:` followed by the four address bytes in hex, as Docker derives endpoint MACs. */
export function macOf(ip: number): string {
  return ['02', '42', ...octets(ip).map((o) => o.toString(16).padStart(2, '0'))].join(':')
}

/** Ranges no overlay subnet may touch, by the name messages use. */
export const RESERVED_BLOCKS: readonly { readonly name: string; readonly block: Block }[] = [
  ['"this network"', '0.0.0.0', 8],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '240.0.0.0', 4],
].map(([name, addr, prefix]) => ({
  name: String(name),
  block: blockOf(parseIpv4(String(addr)) ?? 0, Number(prefix)),
}))

/**
 * Why `subnet` cannot be an overlay subnet, or `undefined` when it can: it overlaps a
 * reserved range (loopback, link-local, multicast, 0/8, 240/4) or one of the `underlay`
 * blocks (the nodes' own networks, whose traffic would be captured by the overlay).
 */
export function subnetConflict(
  subnet: Block,
  opts: { underlay?: readonly Block[] } = {},
): string | undefined {
  for (const r of RESERVED_BLOCKS)
    if (overlaps(subnet, r.block)) return `overlaps ${r.name} ${formatBlock(r.block)}`
  for (const u of opts.underlay ?? [])
    if (overlaps(subnet, u)) return `overlaps the underlay network ${formatBlock(u)}`
  return undefined
}

/** Whether `subnet` can be an overlay subnet; see {@link subnetConflict} for the reason. */
export function isUsableSubnet(subnet: Block, opts: { underlay?: readonly Block[] } = {}): boolean {
  return subnetConflict(subnet, opts) === undefined
}

function octets(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}
