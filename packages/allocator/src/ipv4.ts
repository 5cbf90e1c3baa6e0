/**
 * The allocator's view of IPv4 values: @swarmnet/ipv4 (the one parser), plus the subnet
 * rules of a network (prefix range, no host bits) with the allocator's own errors.
 */
import { type Block, blockOf, formatBlock, isIpv6, overlaps, parseCidr } from '@swarmnet/ipv4'
import { InvalidSubnetError } from './errors.js'

export type { Block } from '@swarmnet/ipv4'
export {
  blockOf as blockAt,
  blockSize,
  contains,
  formatBlock,
  formatIpv4 as formatIPv4,
  macOf,
  overlaps,
  parseIpv4 as parseIPv4,
} from '@swarmnet/ipv4'

/** Narrowest and widest prefixes accepted for a network subnet. */
export const MIN_PREFIX = 8
export const MAX_PREFIX = 29

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
  if (isIpv6(text.split('/')[0] ?? '')) {
    throw new InvalidSubnetError(`${what} ${text} is IPv6; only IPv4 subnets are supported`)
  }
  const cidr = parseCidr(text)
  if (cidr === undefined) {
    throw new InvalidSubnetError(`${what} '${text}' is not an IPv4 CIDR like 10.1.0.0/24`)
  }
  if (cidr.prefix < minPrefix || cidr.prefix > maxPrefix) {
    throw new InvalidSubnetError(`${what} ${text}: prefix must be between /${minPrefix} and /${maxPrefix}`)
  }
  const block = blockOf(cidr.ip, cidr.prefix)
  if (block.first !== cidr.ip) {
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
  { name: '"this network"', block: blockOf(0, 8) },
  { name: 'loopback', block: blockOf(127 * 2 ** 24, 8) },
  { name: 'link-local', block: blockOf((169 * 256 + 254) * 2 ** 16, 16) },
  { name: 'multicast', block: blockOf(224 * 2 ** 24, 4) },
  { name: 'reserved', block: blockOf(240 * 2 ** 24, 4) },
]
