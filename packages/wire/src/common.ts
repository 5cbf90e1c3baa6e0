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

/** CPU in nano-CPUs (1e9 = one core) and memory in bytes (since 0.5). */
export const resourceAmounts = z.object({
  nanoCpus: z.number().int().positive().max(1e15).optional(),
  memoryBytes: z
    .number()
    .int()
    .positive()
    .max(2 ** 53)
    .optional(),
})
/** Docker's `Resources`: limits enforced by the kernel, reservations held by the scheduler. */
export const resources = z.object({
  limits: resourceAmounts.optional(),
  reservations: resourceAmounts.optional(),
})
/** Docker's `Placement`: constraints, spread preferences, max replicas per node (since 0.5). */
export const placement = z.object({
  constraints: z.array(z.string().max(256)).max(64).optional(),
  preferences: z
    .array(z.object({ spread: z.string().max(256) }))
    .max(8)
    .optional(),
  maxReplicasPerNode: z.number().int().min(0).max(1_000_000).optional(),
})
/** Node labels: `zone=a` (since 0.5). */
export const labels = z.record(z.string().min(1).max(128), z.string().max(256))
