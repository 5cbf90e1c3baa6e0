/**
 * The local API: the CLI talks to the node agent over a unix socket. Only the root user
 * of the host can reach it (the socket is mode 0600).
 */
import { z } from 'zod'
import {
  availability,
  endpointId,
  hostPort,
  ipv4,
  labels,
  mtu,
  nodeId,
  nodeStatus,
  port,
  role,
  warnings,
} from './common.js'
import { endpoint } from './endpoint.js'
import { endpointView, networkCreateRequest, networkView } from './network-api.js'
import { portConflict } from './ports.js'

export const nodeView = z.object({
  id: nodeId,
  hostname: z.string(),
  role,
  status: nodeStatus,
  availability,
  addr: z.string(),
  managerStatus: z.enum(['leader', 'reachable', 'unreachable', '']),
  self: z.boolean(),
  peerId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  certificateExpiry: z.string(),
  engineVersion: z.string(),
  /** MTU of the node's underlay interface, as it last reported it (since 0.2). */
  underlayMtu: mtu.optional(),
  /** e.g. the underlay cannot carry a network's MTU (since 0.2). */
  warnings: warnings.default([]),
  /** `node update --label-add` (since 0.5). */
  labels: labels.default({}),
  /** What the node reported it has, as Docker's `Description.Resources` (since 0.5). */
  resources: z.object({ nanoCpus: z.number().int(), memoryBytes: z.number().int() }).optional(),
  /** Ingress ports the node cannot serve, from its last heartbeat (since 0.6; absent: none). */
  portConflicts: z.array(portConflict).optional(),
})
export type NodeView = z.infer<typeof nodeView>

export const capabilities = z.object({
  vxlan: z.boolean(),
  nftables: z.boolean(),
  ipvs: z.boolean(),
  esp: z.boolean(),
  /** The service load balancer in use (since 0.4): `ipvs` where the kernel has it. */
  lbBackend: z.enum(['ipvs', 'nftables']).optional(),
})

export const infoView = z.object({
  nodeId: z.string(),
  hostname: z.string(),
  role: z.union([role, z.literal('')]),
  clusterId: z.string(),
  state: z.enum(['inactive', 'active', 'pending']),
  managerAddr: z.string(),
  advertiseAddr: z.string(),
  dataPathPort: port,
  gossipPort: port,
  capabilities,
  version: z.string(),
  node: z.string(),
  kernel: z.string(),
  pid: z.number().int(),
  /** Task transitions on this node since the agent started (tests watch rejected/failed). */
  tasks: z.object({
    started: z.number().int(),
    rejected: z.number().int(),
    failed: z.number().int(),
  }),
  /** MTU of the interface carrying the advertise address (since 0.2). */
  underlayMtu: mtu.optional(),
  /** The manager's warnings about this node, from the last heartbeat (since 0.2). */
  warnings: warnings.default([]),
  /** The resolver's upstreams in use, and whether it listens yet (since 0.4). */
  dns: z.object({ upstreams: z.array(z.string()), listening: z.boolean() }).optional(),
  /**
   * How this node enforces task limits (since 0.5): cgroup `v2`, the `v1` memory and cpu
   * controllers, or `none` (limits refused); where its tasks' cgroups live.
   */
  cgroup: z
    .object({
      mode: z.enum(['v1', 'v2', 'none']),
      paths: z.record(z.string(), z.string()).default({}),
      reason: z.string().optional(),
    })
    .optional(),
  /** The agent process: resident memory and CPU time used, user + system (since 0.2). */
  agent: z
    .object({ rssBytes: z.number().int().nonnegative(), cpuSeconds: z.number().nonnegative() })
    .optional(),
})
export type InfoView = z.infer<typeof infoView>

export const initRequest = z.object({
  advertiseAddr: ipv4.optional(),
  listenAddr: hostPort.optional(),
  dataPathPort: port.optional(),
  defaultAddrPool: z.string().max(64).optional(),
  defaultAddrPoolMaskLen: z.number().int().min(8).max(29).optional(),
  /** The resolver's upstreams, `IP[:PORT]` (since 0.4); absent: the node's /etc/resolv.conf. */
  dnsUpstreams: z.array(hostPort).min(1).max(3).optional(),
  /** `--ingress-subnet` (since 0.6): the ingress network's subnet; absent: one from the pool. */
  ingressSubnet: z.string().max(32).optional(),
  /** Automatic IPsec key rotation period (since 0.4). @default 12 h */
  encryptionKeyRotationMs: z
    .number()
    .int()
    .min(60_000)
    .max(365 * 24 * 3_600_000)
    .optional(),
})
export const initResponse = z.object({
  nodeId: z.string(),
  clusterId: z.string(),
  managerAddr: z.string(),
  workerToken: z.string(),
})

export const joinRequest = z.object({
  token: z.string().max(256),
  remoteAddr: hostPort,
  advertiseAddr: ipv4.optional(),
  listenAddr: hostPort.optional(),
  dnsUpstreams: z.array(hostPort).min(1).max(3).optional(),
})
export const joinResponse = z.object({ nodeId: z.string(), role, clusterId: z.string() })

export const joinTokenResponse = z.object({ role, token: z.string(), managerAddr: z.string() })

export const ok = z.object({ ok: z.literal(true) })
const empty = z.object({}).strict()

/** The local API's endpoints; the server and the client both use these. */
export const localApi = {
  info: endpoint('GET', '/v1/info', empty, infoView),
  init: endpoint('POST', '/v1/init', initRequest, initResponse),
  join: endpoint('POST', '/v1/join', joinRequest, joinResponse),
  joinToken: endpoint(
    'POST',
    '/v1/join-token',
    z.object({ role, rotate: z.boolean().default(false) }),
    joinTokenResponse,
  ),
  leave: endpoint('POST', '/v1/leave', z.object({ force: z.boolean().default(false) }), ok),
  nodeList: endpoint('GET', '/v1/nodes', empty, z.array(nodeView)),
  nodeInspect: endpoint('POST', '/v1/nodes/inspect', z.object({ ref: z.string().max(256) }), nodeView),
  nodeUpdate: endpoint(
    'POST',
    '/v1/nodes/update',
    z.object({
      ref: z.string().max(256),
      availability: availability.optional(),
      /** Set these labels (since 0.5). */
      labelAdd: labels.optional(),
      /** Remove these label keys (since 0.5). */
      labelRm: z.array(z.string().max(128)).max(64).optional(),
    }),
    nodeView,
  ),
  nodeRemove: endpoint(
    'POST',
    '/v1/nodes/remove',
    z.object({ ref: z.string().max(256), force: z.boolean().default(false) }),
    ok,
  ),
  networkCreate: endpoint('POST', '/v1/networks/create', networkCreateRequest, networkView),
  networkList: endpoint('GET', '/v1/networks', empty, z.array(networkView)),
  networkInspect: endpoint(
    'POST',
    '/v1/networks/inspect',
    z.object({ ref: z.string().max(256) }),
    networkView,
  ),
  networkRemove: endpoint('POST', '/v1/networks/remove', z.object({ ref: z.string().max(256) }), ok),
  /** Rotates the IPsec keyring now (managers only; since 0.4). */
  networkRotateKey: endpoint(
    'POST',
    '/v1/networks/rotate-key',
    empty,
    z.object({ generation: z.number().int().nonnegative() }),
  ),
  endpointAttach: endpoint(
    'POST',
    '/v1/endpoints/attach',
    z.object({ network: z.string().max(256), id: endpointId.optional() }),
    endpointView.extend({ namespace: z.string() }),
  ),
  endpointDetach: endpoint('POST', '/v1/endpoints/detach', z.object({ id: z.string().max(64) }), ok),
  endpointList: endpoint(
    'GET',
    '/v1/endpoints',
    empty,
    z.array(endpointView.extend({ namespace: z.string() })),
  ),
} as const
