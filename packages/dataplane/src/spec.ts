/**
 * The dataplane's input: what this node should have. Public types are re-exported by
 * index.ts; `normalizeDesired` validates them once (peer records come from the network)
 * and resolves defaults, so the planners work on checked, complete values only.
 */
import { InvalidInputError } from '@swarmnet/interface'
import { assertIpv4, type Cidr, contains, macFromIp, normalizeMac, parseCidr } from './addr.js'
import { sandboxNamespace } from './names.js'
import { checkIngress, checkRedirects } from './spec-ingress.js'
import { checkLoadBalancers } from './spec-lb.js'

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
  /**
   * Its vxlan travels only in ESP between VTEPs (keys: {@link DesiredState.encryption});
   * cleartext vxlan of its VNI is dropped on input.
   * @default false
   */
  readonly encrypted?: boolean
}

/** One key of the cluster's IPsec keyring, as the manager hands it out. */
export interface EncryptionKey {
  /** The key's tag (its Lamport time): part of every SPI derived with it. */
  readonly tag: number
  /** 16 bytes, 32 lower-case hex digits (AES-128-GCM). */
  readonly key: string
}

/** The keyring: inbound SAs for every key, outbound SAs with the primary. */
export interface EncryptionSpec {
  /** At most 3 keys. */
  readonly keys: readonly EncryptionKey[]
  /** Tag of the primary (transmit) key; one of `keys`. */
  readonly primary: number
}

/** One attachment of an endpoint to an overlay network (`eth<i>` in the sandbox). */
export interface AttachmentSpec {
  readonly networkId: string
  /** Endpoint IPv4 address inside the network's subnet. */
  readonly ip: string
  /** @default `02:42:` + the IPv4 octets */
  readonly mac?: string
  /**
   * REDIRECTs on this attachment's leg (a task's ingress attachment): `published` arriving
   * on `eth<i>` goes to `target` (table `ip swarmnet-task` in the sandbox). @default none
   */
  readonly redirects?: readonly RedirectSpec[]
}

/** A published port of a task, redirected to the port it listens on. */
export interface RedirectSpec {
  readonly protocol: 'tcp' | 'udp'
  readonly published: number
  readonly target: number
}

/** An ingress-mode published port: balanced over the backends of `serviceId` in the ingress LB. */
export interface IngressPortSpec {
  readonly protocol: 'tcp' | 'udp'
  readonly published: number
  readonly serviceId: string
}

/** A host-mode published port of a local task: DNAT straight to its sandbox's gateway leg. */
export interface HostPortSpec {
  readonly protocol: 'tcp' | 'udp'
  readonly published: number
  readonly target: number
  /** A local endpoint with a gateway leg (its gateway-bridge address is the DNAT target). */
  readonly endpointId: string
}

/** The ingress routing mesh on this node (ingress.ts). */
export interface IngressSpec {
  /** The ingress overlay: it is in `networks`, and its load balancer is in `loadBalancers` (maybe with no services). */
  readonly networkId: string
  /** The ingress namespace's address on the gateway bridge (inside the gateway subnet, never the bridge's own). */
  readonly gatewayIp: string
  /** Ingress-mode published ports cluster-wide, each balanced over the backends of `serviceId` in the ingress LB. */
  readonly ports: readonly IngressPortSpec[]
  /** Host-mode ports of THIS node's tasks: DNAT straight to the task sandbox's gateway-leg address. */
  readonly hostPorts: readonly HostPortSpec[]
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

/** One backend of a service: a running task's address on the network. */
export interface LbBackendSpec {
  readonly ip: string
  /** 1 = takes new connections; 0 = draining (no new connections, existing flows go on). */
  readonly weight: 0 | 1
}

/** One service behind a VIP on the network of its {@link LoadBalancerSpec}. */
export interface LbServiceSpec {
  /** Service id: the stable key of its firewall mark (IPVS). */
  readonly id: string
  /** IPv4 inside the network's subnet; every port of it is balanced. */
  readonly vip: string
  /** Every running task of the service on this network, cluster-wide; weight 0 = draining. */
  readonly backends: readonly LbBackendSpec[]
}

/**
 * The service load balancer of one network on this node (Docker's `lb_<net>` sandbox):
 * namespace `sn-lb-<vni>` with a leg into the overlay's `br0`. Like an endpoint, it makes
 * its network built on this node.
 */
export interface LoadBalancerSpec {
  /** Must be one of `desired.networks`. */
  readonly networkId: string
  /** This node's LB address in the network (the SNAT source), allocated by the manager. */
  readonly address: string
  /** @default `02:42:` + the IPv4 octets of `address` */
  readonly mac?: string
  readonly services: readonly LbServiceSpec[]
}

/** Everything this node should have. Networks without a local endpoint or LB are not built. */
export interface DesiredState {
  readonly networks: readonly NetworkSpec[]
  readonly endpoints: readonly EndpointSpec[]
  /** At most one per network. @default none */
  readonly loadBalancers?: readonly LoadBalancerSpec[]
  /**
   * Underlay addresses of the admitted nodes: vxlan from any other address is dropped.
   * @default unknown (no admission rule until it is given)
   */
  readonly members?: readonly string[]
  /** The IPsec keyring for encrypted networks. @default none (their vxlan is dropped) */
  readonly encryption?: EncryptionSpec
  /** The ingress routing mesh. @default none (no ingress leg, no host ingress table) */
  readonly ingress?: IngressSpec
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
  readonly encrypted: boolean
}

export interface CheckedEncryption {
  readonly keys: readonly EncryptionKey[]
  readonly primary: number
}

export interface CheckedAttachment {
  readonly network: CheckedNetwork
  readonly ip: string
  readonly mac: string
  /** Unique by (protocol, published), sorted. */
  readonly redirects: readonly RedirectSpec[]
}

export interface CheckedIngress {
  readonly network: CheckedNetwork
  readonly gatewayIp: string
  /** Unique by (protocol, published), sorted by protocol then port. */
  readonly ports: readonly IngressPortSpec[]
  /** Unique by (protocol, published) and never an ingress-mode port too, sorted. */
  readonly hostPorts: readonly HostPortSpec[]
}

export interface CheckedEndpoint {
  readonly id: string
  readonly attachments: readonly CheckedAttachment[]
  readonly gateway: boolean
  readonly gatewayIp: string | undefined
}

export interface CheckedBackend {
  readonly ip: string
  readonly weight: 0 | 1
}

export interface CheckedService {
  readonly id: string
  readonly vip: string
  /** Unique by IP (a duplicate keeps the highest weight), sorted by address. */
  readonly backends: readonly CheckedBackend[]
}

export interface CheckedLoadBalancer {
  readonly network: CheckedNetwork
  readonly address: string
  readonly mac: string
  /** Sorted by id. */
  readonly services: readonly CheckedService[]
}

export interface CheckedDesired {
  /** Only the networks with at least one local endpoint or LB, in input order. */
  readonly networks: readonly CheckedNetwork[]
  readonly endpoints: readonly CheckedEndpoint[]
  readonly loadBalancers: readonly CheckedLoadBalancer[]
  readonly members: readonly string[] | undefined
  readonly encryption: CheckedEncryption | undefined
  readonly ingress: CheckedIngress | undefined
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
  if (n.encrypted !== undefined && typeof n.encrypted !== 'boolean')
    throw new InvalidInputError(`${where}: encrypted must be a boolean`)
  return {
    id: n.id,
    vni: n.vni,
    subnet,
    gateway,
    mtu,
    peers: checkPeers(n.peers, where),
    encrypted: n.encrypted === true,
  }
}

const KEY_HEX = /^[0-9a-f]{32}$/

/** Checks the keyring: 1–3 keys of 16 bytes with distinct uint32 tags, the primary among them. */
export function checkEncryption(e: EncryptionSpec | undefined): CheckedEncryption | undefined {
  if (e === undefined) return undefined
  if (!Array.isArray(e.keys as unknown) || e.keys.length === 0 || e.keys.length > 3)
    throw new InvalidInputError('encryption: 1 to 3 keys')
  const tags = new Set<number>()
  for (const k of e.keys) {
    if (!Number.isInteger(k.tag) || k.tag < 0 || k.tag > 0xffffffff || tags.has(k.tag))
      throw new InvalidInputError('encryption: key tags must be distinct uint32 values')
    // the key itself is never part of a message
    if (typeof k.key !== 'string' || !KEY_HEX.test(k.key))
      throw new InvalidInputError(`encryption: key ${k.tag} is not 16 bytes of hex`)
    tags.add(k.tag)
  }
  if (!tags.has(e.primary)) throw new InvalidInputError('encryption: the primary key is not in the keyring')
  return { keys: e.keys.map((k) => ({ tag: k.tag, key: k.key })), primary: e.primary }
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
      const mac = a.mac === undefined ? macFromIp(ip) : normalizeMac(a.mac, `${where}.mac`)
      return { network, ip, mac, redirects: checkRedirects(a.redirects, `${where}.attachments[${i}]`) }
    })
    const gatewayIp = e.gatewayIp === undefined ? undefined : assertIpv4(e.gatewayIp, `${where}.gatewayIp`)
    return { id: e.id, attachments, gateway: e.gateway ?? true, gatewayIp }
  })
  const loadBalancers = checkLoadBalancers(desired.loadBalancers ?? [], byId)
  for (const lb of loadBalancers) used.add(lb.network.id)
  const ingress = checkIngress(desired.ingress, byId, loadBalancers)
  const members =
    desired.members === undefined
      ? undefined
      : [...new Set(desired.members.map((m, i) => assertIpv4(m, `members[${i}]`)))].sort()
  return {
    networks: [...byId.values()].filter((n) => used.has(n.id)),
    endpoints,
    loadBalancers,
    members,
    encryption: checkEncryption(desired.encryption),
    ingress,
  }
}
