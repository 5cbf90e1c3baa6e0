import ipaddr from 'ipaddr.js'
import { InvalidSubnetError } from './errors.js'

/** An IPv4 block as unsigned 32-bit integers: `[first, last]` inclusive. */
export interface Block {
  readonly first: number
  readonly last: number
  readonly prefix: number
}

/** Narrowest and widest prefixes accepted for a network subnet. */
export const MIN_PREFIX = 8
export const MAX_PREFIX = 29

/** Parses a strict dotted-quad IPv4 address to an integer, or `undefined`. */
export function parseIPv4(text: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined
  return toInt(ipaddr.IPv4.parse(text).octets)
}

export function formatIPv4(n: number): string {
  return octets(n).join('.')
}

export function formatBlock(block: Block): string {
  return `${formatIPv4(block.first)}/${block.prefix}`
}

/** `02:42:` followed by the four address bytes in hex. */
export function macOf(n: number): string {
  return ['02', '42', ...octets(n).map((o) => o.toString(16).padStart(2, '0'))].join(':')
}

export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix)
}

export function blockAt(first: number, prefix: number): Block {
  return { first, last: first + blockSize(prefix) - 1, prefix }
}

export function overlaps(a: Block, b: Block): boolean {
  return a.first <= b.last && b.first <= a.last
}

export function contains(block: Block, n: number): boolean {
  return n >= block.first && n <= block.last
}

/**
 * Parses `a.b.c.d/p` as a network block: IPv4 only, strict dotted quad, prefix within
 * `[minPrefix, maxPrefix]` and no host bits set. `what` names the value in messages.
 */
export function parseBlock(
  text: string,
  what: string,
  minPrefix = MIN_PREFIX,
  maxPrefix = MAX_PREFIX,
): Block {
  const [addr, bits, ...rest] = text.split('/')
  if (addr !== undefined && ipaddr.IPv6.isValid(addr)) {
    throw new InvalidSubnetError(`${what} ${text} is IPv6; only IPv4 subnets are supported`)
  }
  const ip = addr === undefined ? undefined : parseIPv4(addr)
  if (ip === undefined || bits === undefined || rest.length > 0 || !/^\d{1,2}$/.test(bits)) {
    throw new InvalidSubnetError(`${what} '${text}' is not an IPv4 CIDR like 10.1.0.0/24`)
  }
  const prefix = Number(bits)
  if (prefix < minPrefix || prefix > maxPrefix) {
    throw new InvalidSubnetError(`${what} ${text}: prefix must be between /${minPrefix} and /${maxPrefix}`)
  }
  const block = blockAt(ip - (ip % blockSize(prefix)), prefix)
  if (block.first !== ip) {
    throw new InvalidSubnetError(`${what} ${text} has host bits set; did you mean ${formatBlock(block)}?`)
  }
  const special = SPECIAL.find((s) => overlaps(s.block, block))
  if (special !== undefined) {
    throw new InvalidSubnetError(
      `${what} ${text} overlaps the ${special.name} range ${formatBlock(special.block)}; use a private range such as 10.0.0.0/8`,
    )
  }
  return block
}

/** Ranges no overlay subnet may touch: hosts route or treat them specially. */
const SPECIAL: ReadonlyArray<{ name: string; block: Block }> = [
  { name: '"this network"', block: blockAt(0, 8) },
  { name: 'loopback', block: blockAt(127 * 2 ** 24, 8) },
  { name: 'link-local', block: blockAt((169 * 256 + 254) * 2 ** 16, 16) },
  { name: 'multicast', block: blockAt(224 * 2 ** 24, 4) },
  { name: 'reserved', block: blockAt(240 * 2 ** 24, 4) },
]

function octets(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}

function toInt(o: number[]): number {
  return o.reduce((acc, b) => acc * 256 + b, 0)
}
