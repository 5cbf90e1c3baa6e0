/**
 * Facts about this host read from the kernel without spawning anything: hostname, the IPv4
 * addresses of its interfaces, and the address of the default-route interface (what Docker
 * picks as the advertise address when none is given).
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { type AbortOptions, InvalidInputError } from '@swarmnet/interface'
import { parseHostPort } from '@swarmnet/ipv4'

export function hostIPv4s(): Map<string, string> {
  const out = new Map<string, string>()
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4') out.set(a.address, name)
  }
  return out
}

async function defaultRouteInterface(): Promise<string | undefined> {
  const text = await readFile('/proc/net/route', 'utf8').catch(() => '')
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/)
    if (dest === '00000000' && mask === '00000000') return iface
  }
  return undefined
}

/** The advertise address: the given one (must be on this host) or the default route's. */
export async function resolveAdvertiseAddr(given: string | undefined): Promise<string> {
  const mine = hostIPv4s()
  if (given !== undefined) {
    if (!mine.has(given))
      throw new InvalidInputError(`advertise address ${given} is not an address of this host`)
    return given
  }
  const iface = await defaultRouteInterface()
  const found = [...mine].find(([, name]) => name === iface)?.[0]
  if (found === undefined)
    throw new InvalidInputError(
      'could not choose an advertise address (no default route); specify one with --advertise-addr',
    )
  return found
}

/**
 * The interface carrying `addr` and its MTU (from /sys, no process spawned), or undefined
 * when no interface holds the address. Read on every heartbeat, so a changed MTU is reported.
 */
export async function underlayOf(
  addr: string,
  options?: AbortOptions,
): Promise<{ device: string; mtu: number } | undefined> {
  const device = hostIPv4s().get(addr)
  if (device === undefined || !/^[\w.@-]{1,15}$/.test(device)) return undefined
  const path = `/sys/class/net/${device}/mtu`
  const text = await readFile(path, { encoding: 'utf8', ...options }).catch(() => '')
  const mtu = Number(text.trim())
  return Number.isInteger(mtu) && mtu > 0 ? { device, mtu } : undefined
}

/** `IP[:PORT]` → parts, with the default port. */
export function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const parts = parseHostPort(value, defaultPort)
  if (parts === undefined) throw new InvalidInputError(`invalid address '${value}': expected IP[:PORT]`)
  return parts
}

export function hostname(): string {
  return os.hostname()
}

export function kernelRelease(): string {
  return os.release()
}
