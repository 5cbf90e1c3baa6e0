/** What the manager persists, one table each. Plain JSON values. */
import type { NodeView } from '@swarmnet/wire'

export interface ClusterRecord {
  id: string
  createdAt: string
  caCertPem: string
  /** The CA's private key: never logged, never sent. */
  caKeyPem: string
  dataPathPort: number
  defaultAddrPool: string
  defaultAddrPoolMaskLen: number
  workerSecret: string
  managerSecret: string
  /** Automatic IPsec key rotation period (absent: 12 h). */
  encryptionKeyRotationMs?: number
  /** `init --ingress-subnet` (absent: the ingress network's subnet comes from the pool). */
  ingressSubnet?: string
}

export interface NodeRecord {
  id: string
  hostname: string
  role: NodeView['role']
  availability: NodeView['availability']
  addr: string
  peerId: string
  gossipAddrs: string[]
  certSerial: string
  certExpiry: string
  createdAt: string
  updatedAt: string
  engineVersion: string
  /** MTU of the node's underlay interface as last reported (absent: an older agent). */
  underlayMtu?: number
  /** What the node's kernel can do, as last reported (`esp`, `ipvs`; absent: nothing known). */
  capabilities?: string[]
  /** `node update --label-add` (absent: none). */
  labels?: Record<string, string>
  /** The node's CPUs and memory as last reported (absent: an older agent; nothing reservable). */
  resources?: { nanoCpus: number; memoryBytes: number }
  /** `PORT/PROTO` ingress ports a host process holds on the node, from its last heartbeat (absent: none). */
  portConflicts?: string[]
}

export interface RevokedRecord {
  nodeId: string
  serial: string
  at: string
}

export interface NetworkRecord {
  id: string
  name: string
  driver: 'overlay'
  subnet: string
  gateway: string
  vni: number
  encrypted: boolean
  attachable: boolean
  createdAt: string
  /** One value cluster-wide, fixed at create (absent: created before MTUs, 1450). */
  mtu?: number
  /** The cluster's ingress network: the routing mesh of published ports (since 0.6). */
  ingress?: true
}

export interface EndpointRecord {
  id: string
  networkId: string
  node: string
  ip: string
  prefix: number
  mac: string
  /**
   * A task's address, allocated when the task was assigned: released once its node no longer
   * holds the task (not by an explicit detach, which is for bare endpoints).
   */
  task?: boolean
}
