/** Overlay networks and endpoints: the views both APIs share. */
import { z } from 'zod'
import { cidr, endpointId, ipv4, mac, mtu, networkName } from './common.js'

export const networkView = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.literal('overlay'),
  scope: z.literal('swarm'),
  subnet: z.string(),
  gateway: z.string(),
  vni: z.number().int(),
  encrypted: z.boolean(),
  attachable: z.boolean(),
  internal: z.boolean(),
  createdAt: z.string(),
  endpoints: z.number().int(),
  /** MTU of the network's devices on every node (since 0.2). */
  mtu: mtu.optional(),
  /**
   * `network inspect`: each service on the network as the answering node's gossip shows it
   * (since 0.4; like `docker network inspect -v`): its VIP and its tasks' addresses.
   */
  services: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        vip: z.string().optional(),
        tasks: z.array(z.object({ ip: z.string(), node: z.string(), draining: z.boolean() })),
      }),
    )
    .optional(),
  /** Encrypted networks: the generation of the cluster keyring in use (since 0.4). */
  keyGeneration: z.number().int().nonnegative().optional(),
  /** The cluster's ingress network, the routing mesh of published ports (since 0.6). */
  ingress: z.boolean().optional(),
})
export type NetworkView = z.infer<typeof networkView>

export const networkCreateRequest = z.object({
  name: networkName,
  driver: z.string().max(32).default('overlay'),
  subnet: cidr.optional(),
  gateway: ipv4.optional(),
  attachable: z.boolean().default(false),
  options: z.record(z.string().max(64), z.string().max(256)).default({}),
})

/** What a node needs to build its side of a network. */
export const networkSpec = z.object({
  id: z.string(),
  name: z.string(),
  vni: z.number().int().min(1).max(0xffffff),
  subnet: cidr,
  gateway: ipv4,
  /** One value cluster-wide (since 0.2; absent: the node's underlay MTU − 50). */
  mtu: mtu.optional(),
  /** Its vxlan travels in ESP between nodes (since 0.4; absent: false). */
  encrypted: z.boolean().optional(),
  /** The cluster's ingress network (since 0.6; absent: an ordinary overlay). */
  ingress: z.literal(true).optional(),
})

export const endpointView = z.object({
  id: endpointId,
  network: networkSpec,
  ip: ipv4,
  prefix: z.number().int().min(8).max(30),
  mac,
  node: z.string(),
})
export type EndpointView = z.infer<typeof endpointView>
