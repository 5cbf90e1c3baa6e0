/**
 * IPv4 and MAC helpers. Everything that ends up on a command line is validated here
 * first: peer records arrive from the network, and an `ip -batch` line must never carry
 * anything but one well-formed token per argument.
 */
import { InvalidInputError } from '@swarmnet/interface'

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

export interface Cidr {
  readonly address: string
  readonly prefix: number
}

export function isIpv4(value: string): boolean {
  return IPV4.test(value)
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
  const [address = '', prefixText = '', ...rest] = value.split('/')
  const prefix = Number(prefixText)
  if (rest.length > 0 || !isIpv4(address) || !/^[0-9]{1,2}$/.test(prefixText) || prefix > 32) {
    throw new InvalidInputError(`${what}: not an IPv4 CIDR: ${JSON.stringify(value)}`)
  }
  return { address, prefix }
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0)
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.')
}

export function networkBase(cidr: Cidr): number {
  const size = 2 ** (32 - cidr.prefix)
  return Math.floor(ipToInt(cidr.address) / size) * size
}

export function contains(cidr: Cidr, ip: string): boolean {
  const base = networkBase(cidr)
  const n = ipToInt(ip)
  return n >= base && n < base + 2 ** (32 - cidr.prefix)
}

/** `02:42:` followed by the four IPv4 octets, as Docker derives endpoint MACs. */
export function macFromIp(ip: string): string {
  return `02:42:${ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(':')}`
}
