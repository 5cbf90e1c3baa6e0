import { isIpv4, parseHostPort } from '@swarmnet/ipv4'
import { z } from 'zod'
import { limits } from './limits.js'

/** A strict dotted-quad IPv4 address (@swarmnet/ipv4). */
export const ipv4 = z.string().max(15).refine(isIpv4, 'expected an IPv4 address like 10.0.0.1')
export const nodeId = z.string().regex(/^[a-z0-9]{25}$/, 'node id: 25 lowercase base36 characters')
export const role = z.enum(['manager', 'worker'])
export const availability = z.enum(['active', 'pause', 'drain'])
export const nodeStatus = z.enum(['ready', 'down', 'unknown'])
export const pem = z.string().max(limits.pem).startsWith('-----BEGIN ')
export const hostname = z.string().min(1).max(limits.hostname)
export const port = z.number().int().min(1).max(65535)
/** An interface MTU in bytes (IPv4's minimum link MTU to the largest IP packet). */
export const mtu = z.number().int().min(68).max(65535)
/** Human-readable problems a node has, e.g. an underlay too small for a network's MTU. */
export const warnings = z.array(z.string().max(512)).max(64)
/** `IP` or `IP:PORT` */
export const hostPort = z
  .string()
  .max(21)
  .refine((v) => parseHostPort(v, 1) !== undefined, 'expected IP or IP:PORT')
export const peerId = z.string().min(1).max(128)
export const multiaddr = z.string().min(1).max(256).startsWith('/')

/** Docker's network name rule, with a length that fits listings. */
export const networkName = z
  .string()
  .min(1)
  .max(64, 'network name: at most 64 characters')
  .regex(
    /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
    'network name: letters, digits, "_", "." and "-", starting with a letter or digit',
  )
export const cidr = z.string().max(32)
export const mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'MAC address')
export const endpointId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'endpoint id: 1-40 of a-z, 0-9, "-"')
