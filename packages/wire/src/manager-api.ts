/**
 * The manager API between nodes (HTTPS on TCP 2377). `ca` and `join` are reachable without a
 * client certificate; everything else requires a valid, unrevoked node certificate (mTLS) and
 * takes the caller's identity from it, never from the body.
 */
import { z } from 'zod'
import {
  endpointId as endpointIdSchema,
  hostname,
  ipv4,
  mtu,
  multiaddr,
  nodeId,
  peerId,
  pem,
  port,
  role,
  warnings,
} from './common.js'
import { endpoint } from './endpoint.js'
import { endpointView } from './network-api.js'
import { portConflict } from './ports.js'

export const peerInfo = z.object({
  nodeId,
  peerId,
  addrs: z.array(multiaddr).max(16),
  status: z.enum(['ready', 'down', 'unknown']),
})
export type PeerInfo = z.infer<typeof peerInfo>

export const managerApi = {
  ca: endpoint('GET', '/v1/ca', z.object({}).strict(), z.object({ caPem: pem })),
  join: endpoint(
    'POST',
    '/v1/join',
    z.object({
      secret: z.string().max(64),
      caDigest: z.string().max(64),
      csrPem: pem,
      hostname,
      advertiseAddr: ipv4,
      peerId,
      gossipAddrs: z.array(multiaddr).max(16),
      /** MTU of the interface carrying advertiseAddr (since 0.2; absent from older nodes). */
      underlayMtu: mtu.optional(),
    }),
    z.object({
      nodeId,
      role,
      clusterId: z.string(),
      certPem: pem,
      caPem: pem,
      dataPathPort: port,
      managers: z.array(z.object({ addr: z.string(), nodeId, peerId, gossipAddrs: z.array(multiaddr) })),
    }),
  ),
  heartbeat: endpoint(
    'POST',
    '/v1/heartbeat',
    z.object({
      hostname,
      advertiseAddr: ipv4,
      gossipAddrs: z.array(multiaddr).max(16),
      /** MTU of the interface carrying advertiseAddr (since 0.2; absent from older nodes). */
      underlayMtu: mtu.optional(),
      /** The membership version the node holds (since 0.3): unchanged → no lists back. */
      membership: z.string().max(64).optional(),
      /** What the node's kernel can do, tried for real: `esp`, `ipvs` (since 0.4). */
      capabilities: z.array(z.string().max(32)).max(16).optional(),
      /** What the node has: its CPUs and memory; reservations count against it (since 0.5). */
      resources: z
        .object({ nanoCpus: z.number().int().nonnegative(), memoryBytes: z.number().int().nonnegative() })
        .optional(),
      /** Ingress ports this node cannot serve: a host process holds them (since 0.6; absent: none). */
      portConflicts: z.array(portConflict).max(64).optional(),
    }),
    z.object({
      periodMs: z.number().int().positive(),
      /** Version of `peers` + `revoked` (since 0.3). */
      membership: z.string().max(64).optional(),
      /** Absent when the node's membership version is current. */
      revoked: z.array(z.string()).max(100_000).optional(),
      peers: z.array(peerInfo).max(10_000).optional(),
      /** What the manager finds wrong with this node, e.g. an underlay too small (since 0.2). */
      warnings: warnings.default([]),
    }),
  ),
  renew: endpoint('POST', '/v1/renew', z.object({ csrPem: pem }), z.object({ certPem: pem })),
  attach: endpoint(
    'POST',
    '/v1/endpoints/attach',
    z.object({ network: z.string().max(64), endpointId: endpointIdSchema }),
    endpointView,
  ),
  detach: endpoint(
    'POST',
    '/v1/endpoints/detach',
    z.object({ endpointId: endpointIdSchema }),
    z.object({ ok: z.literal(true) }),
  ),
  leave: endpoint('POST', '/v1/leave', z.object({}).strict(), z.object({ ok: z.literal(true) })),
} as const
