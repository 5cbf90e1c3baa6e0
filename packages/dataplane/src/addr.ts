/**
 * IPv4 and MAC checks for the dataplane, on @swarmnet/ipv4 (the one IPv4 parser).
 * Everything that ends up on a command line is validated here first: peer records arrive
 * from the network, and an `ip -batch` line must never carry anything but one well-formed
 * token per argument.
 */
import { InvalidInputError } from '@swarmnet/interface'
import {
  contains as blockContains,
  blockOf,
  formatIpv4,
  isIpv4,
  macOf,
  parseCidr as parse,
  parseIpv4,
} from '@swarmnet/ipv4'

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

export interface Cidr {
  readonly address: string
  readonly prefix: number
}

export function assertIpv4(value: string, what: string): string {
  if (!isIpv4(value)) throw new InvalidInputError(`${what}: not an IPv4 address: ${JSON.stringify(value)}`)
  return value
}

/** Lower-cases and checks a MAC address. */
export function normalizeMac(value: string, what: string): string {
  const mac = value.toLowerCase()
  if (!MAC.test(mac)) throw new InvalidInputError(`${what}: not a MAC address: ${JSON.stringify(value)}`)
  return mac
}

export function parseCidr(value: string, what: string): Cidr {
  const c = parse(value)
  if (c === undefined) throw new InvalidInputError(`${what}: not an IPv4 CIDR: ${JSON.stringify(value)}`)
  return { address: formatIpv4(c.ip), prefix: c.prefix }
}

/** A validated address as an integer (callers pass addresses checked with {@link assertIpv4}). */
export function ipToInt(ip: string): number {
  const n = parseIpv4(ip)
  if (n === undefined) throw new InvalidInputError(`not an IPv4 address: ${JSON.stringify(ip)}`)
  return n
}

export const intToIp = formatIpv4

export function networkBase(cidr: Cidr): number {
  return blockOf(ipToInt(cidr.address), cidr.prefix).first
}

export function contains(cidr: Cidr, ip: string): boolean {
  const n = parseIpv4(ip)
  return n !== undefined && blockContains(blockOf(ipToInt(cidr.address), cidr.prefix), n)
}

/** `02:42:` followed by the four IPv4 octets, as Docker derives endpoint MACs. */
export function macFromIp(ip: string): string {
  return macOf(ipToInt(ip))
}
