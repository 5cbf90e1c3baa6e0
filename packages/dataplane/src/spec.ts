/**
 * The dataplane's input: what this node should have. Public types are re-exported by
 * index.ts; `normalizeDesired` validates them once (peer records come from the network)
 * and resolves defaults, so the planners work on checked, complete values only.
 */
import { InvalidInputError } from '@swarmnet/interface'
import { assertIpv4, type Cidr, contains, macFromIp, normalizeMac, parseCidr } from './addr.js'
import { sandboxNamespace } from './names.js'

/** One endpoint of an overlay network anywhere in the cluster, as gossiped. */
export interface Peer {
  /** Endpoint IPv4 address (without prefix). */
  readonly ip: string
  /** Endpoint MAC, e.g. `02:42:0a:00:01:05`. */
  readonly mac: string
  /** Underlay address of the node that owns the endpoint (its VTEP). */
  readonly vtep: string
}

/** An overlay network this node may have to carry. */
export interface NetworkSpec {
  /** Network id (the key of the per-network writer queue). */
  readonly id: string
  /** VXLAN network identifier, 1 … 2^24−1 (the allocator hands out ≥ 4096). */
  readonly vni: number
  /** IPv4 subnet, e.g. `10.0.1.0/24`. */
  readonly subnet: string
  /** Gateway address held by `br0`, e.g. `10.0.1.1`. */
  readonly gateway: string
  /**
   * MTU of `vxlan0`, `br0` and every sandbox leg on this network: one value cluster-wide,
   * chosen by the manager (the smallest underlay MTU − 50 when the network was created).
   * @default this node's underlay MTU − {@link VXLAN_OVERHEAD}
   */
  readonly mtu?: number
  /**
   * The FULL set of endpoints on this network cluster-wide. Entries whose VTEP is this
   * node's advertise address are local and not programmed. Never a delta.
   */
  readonly peers: readonly Peer[]
}

/** One attachment of an endpoint to an overlay network (`eth<i>` in the sandbox). */
export interface AttachmentSpec {
  readonly networkId: string
  /** Endpoint IPv4 address inside the network's subnet. */
  readonly ip: string
  /** @default `02:42:` + the IPv4 octets */
  readonly mac?: string
}

/** A local endpoint (a task's network sandbox). */
export interface EndpointSpec {
  /** Endpoint or task id; its namespace is `sn-ep-<key>` (see names.ts). */
  readonly id: string
  /** In order: the first is `eth0`, the second `eth1`, … */
  readonly attachments: readonly AttachmentSpec[]
  /**
   * Give the sandbox a leg on the gateway bridge with the default route (egress).
   * @default true
   */
  readonly gateway?: boolean
  /** Address on the gateway bridge; by default the lowest free one (kept once chosen). */
  readonly gatewayIp?: string
}

/** Everything this node should have. Networks without a local endpoint are not built. */
export interface DesiredState {
  readonly networks: readonly NetworkSpec[]
  readonly endpoints: readonly EndpointSpec[]
}

/** Node-wide settings the planners need. */
export interface NodeConfig {
  readonly advertiseAddress: string
  readonly underlayDevice: string | undefined
  readonly underlayMtu: number
  readonly dataPathPort: number
  readonly gatewayBridge: string
  readonly gatewaySubnet: Cidr
  readonly gatewayAddress: string
}

export interface CheckedPeer {
  readonly ip: string
  readonly mac: string
  readonly vtep: string
}

export interface CheckedNetwork {
  readonly id: string
  readonly vni: number
  readonly subnet: Cidr
  readonly gateway: string
  readonly mtu: number
  readonly peers: readonly CheckedPeer[]
}

export interface CheckedAttachment {
  readonly network: CheckedNetwork
  readonly ip: string
  readonly mac: string
}

export interface CheckedEndpoint {
  readonly id: string
  readonly attachments: readonly CheckedAttachment[]
  readonly gateway: boolean
  readonly gatewayIp: string | undefined
}

export interface CheckedDesired {
  /** Only the networks with at least one local endpoint, in input order. */
  readonly networks: readonly CheckedNetwork[]
  readonly endpoints: readonly CheckedEndpoint[]
}

export function checkPeers(peers: readonly Peer[], where: string): CheckedPeer[] {
  return peers.map((p, i) => ({
    ip: assertIpv4(p.ip, `${where}.peers[${i}].ip`),
    mac: normalizeMac(p.mac, `${where}.peers[${i}].mac`),
    vtep: assertIpv4(p.vtep, `${where}.peers[${i}].vtep`),
  }))
}

/** Bytes vxlan adds to each frame over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50
/** The smallest MTU an IPv4 host must accept (RFC 791), and the largest overlay we program. */
export const MIN_OVERLAY_MTU = 576
export const MAX_OVERLAY_MTU = 65535 - VXLAN_OVERHEAD

export function checkNetwork(n: NetworkSpec, defaultMtu = 1500 - VXLAN_OVERHEAD): CheckedNetwork {
  const where = `network ${JSON.stringify(n.id)}`
  if (typeof n.id !== 'string' || n.id.length === 0)
    throw new InvalidInputError('network id must be non-empty')
  if (!Number.isInteger(n.vni) || n.vni < 1 || n.vni > 0xffffff) {
    throw new InvalidInputError(`${where}: VNI out of range: ${n.vni}`)
  }
  const subnet = parseCidr(n.subnet, `${where}.subnet`)
  const gateway = assertIpv4(n.gateway, `${where}.gateway`)
  if (!contains(subnet, gateway))
    throw new InvalidInputError(`${where}: gateway ${gateway} outside ${n.subnet}`)
  const mtu = n.mtu ?? defaultMtu
  if (!Number.isInteger(mtu) || mtu < MIN_OVERLAY_MTU || mtu > MAX_OVERLAY_MTU)
    throw new InvalidInputError(`${where}: MTU out of range ${MIN_OVERLAY_MTU}-${MAX_OVERLAY_MTU}: ${mtu}`)
  return { id: n.id, vni: n.vni, subnet, gateway, mtu, peers: checkPeers(n.peers, where) }
}

/** Checks `desired`; networks without an MTU get `defaultMtu` (the underlay's − 50). */
export function normalizeDesired(desired: DesiredState, defaultMtu?: number): CheckedDesired {
  const byId = new Map<string, CheckedNetwork>()
  const vnis = new Set<number>()
  for (const spec of desired.networks) {
    const n = checkNetwork(spec, defaultMtu)
    if (byId.has(n.id)) throw new InvalidInputError(`duplicate network id ${JSON.stringify(n.id)}`)
    if (vnis.has(n.vni)) throw new InvalidInputError(`duplicate VNI ${n.vni}`)
    byId.set(n.id, n)
    vnis.add(n.vni)
  }
  const used = new Set<string>()
  const endpointIds = new Set<string>()
  const sandboxes = new Set<string>()
  const endpoints = desired.endpoints.map((e): CheckedEndpoint => {
    const where = `endpoint ${JSON.stringify(e.id)}`
    if (typeof e.id !== 'string' || e.id.length === 0)
      throw new InvalidInputError('endpoint id must be non-empty')
    if (endpointIds.has(e.id)) throw new InvalidInputError(`duplicate ${where}`)
    endpointIds.add(e.id)
    const ns = sandboxNamespace(e.id)
    if (sandboxes.has(ns)) throw new InvalidInputError(`${where}: namespace name ${ns} collides`)
    sandboxes.add(ns)
    const seen = new Set<string>()
    const attachments = e.attachments.map((a, i): CheckedAttachment => {
      const network = byId.get(a.networkId)
      if (network === undefined) throw new InvalidInputError(`${where}: unknown network ${a.networkId}`)
      if (seen.has(a.networkId)) throw new InvalidInputError(`${where}: attached twice to ${a.networkId}`)
      seen.add(a.networkId)
      const ip = assertIpv4(a.ip, `${where}.attachments[${i}].ip`)
      if (!contains(network.subnet, ip)) throw new InvalidInputError(`${where}: ${ip} outside its network`)
      used.add(network.id)
      return { network, ip, mac: a.mac === undefined ? macFromIp(ip) : normalizeMac(a.mac, `${where}.mac`) }
    })
    const gatewayIp = e.gatewayIp === undefined ? undefined : assertIpv4(e.gatewayIp, `${where}.gatewayIp`)
    return { id: e.id, attachments, gateway: e.gateway ?? true, gatewayIp }
  })
  return { networks: [...byId.values()].filter((n) => used.has(n.id)), endpoints }
}
