/**
 * The membership verbs of the local API: `init` (this node becomes the first manager of a new
 * cluster), `join` (it becomes a worker of an existing one) and `leave`. Each builds or drops
 * the node's identity; the agent starts and stops the node's roles around it and runs these one
 * at a time.
 */
import type { AbortOptions } from '@swarmnet/interface'
import { ConflictError, InvalidInputError, NotFoundError, SwarmnetError } from '@swarmnet/interface'
import { parseCidr } from '@swarmnet/ipv4'
import type { Manager } from '@swarmnet/manager'
import { newNodeId } from '@swarmnet/manager'
import type { Pki } from '@swarmnet/pki'
import { hostname, resolveAdvertiseAddr, splitHostPort, underlayOf } from './host.js'
import type { NodeIdentity } from './identity.js'
import { joinCluster } from './join.js'
import type { NodeRuntime } from './node-runtime.js'

const DEFAULT_POOL = '10.0.0.0/8'
const DEFAULT_POOL_MASK = 24
export const DEFAULT_MANAGER_PORT = 2377
export const DEFAULT_GOSSIP_PORT = 7946
export const DEFAULT_DATA_PATH_PORT = 4789

/** What the membership verbs need from the agent. */
export interface MembershipHost {
  readonly pki: Pki
  /** The node's runtime while it is in a cluster. */
  runtime(): NodeRuntime | undefined
  generatePeerKey(): Promise<{ peerId: string; privateKey: Uint8Array }>
  newManager(listenHost: string, listenPort: number): Manager
  /** Starts the node's roles for `id`. */
  activate(id: NodeIdentity, options?: AbortOptions): Promise<void>
  /** Stops the node's roles and forgets all cluster state. */
  deactivate(): Promise<void>
  saveIdentity(id: NodeIdentity, options?: AbortOptions): Promise<void>
}

/** `init` as the local API parsed it. */
export interface InitRequest {
  advertiseAddr?: string | undefined
  listenAddr?: string | undefined
  dataPathPort?: number | undefined
  defaultAddrPool?: string | undefined
  defaultAddrPoolMaskLen?: number | undefined
  /** the resolver's upstreams `IP[:PORT]`; absent: the node's /etc/resolv.conf */
  dnsUpstreams?: string[] | undefined
  encryptionKeyRotationMs?: number | undefined
  /** The ingress network's subnet (`init --ingress-subnet`; absent: one from the pool). */
  ingressSubnet?: string | undefined
}

/** `join` as the local API parsed it. */
export interface JoinApiRequest {
  token: string
  remoteAddr: string
  advertiseAddr?: string | undefined
  listenAddr?: string | undefined
  dnsUpstreams?: string[] | undefined
}

function refuseIfMember(host: MembershipHost): void {
  if (host.runtime() !== undefined)
    throw new ConflictError(
      'This node is already part of a swarm. Use "swarmnet leave" to leave this swarm and join another one.',
    )
}

/** `init`: a new cluster with this node as its manager; returns the worker join token. */
export async function initCluster(host: MembershipHost, req: InitRequest, options?: AbortOptions) {
  refuseIfMember(host)
  const advertiseAddr = await resolveAdvertiseAddr(req.advertiseAddr)
  const listen = splitHostPort(req.listenAddr ?? `0.0.0.0:${DEFAULT_MANAGER_PORT}`, DEFAULT_MANAGER_PORT)
  const pool = req.defaultAddrPool ?? DEFAULT_POOL
  if (parseCidr(pool) === undefined) throw new InvalidInputError(`invalid --default-addr-pool '${pool}'`)
  const key = await host.generatePeerKey()
  const nodeId = newNodeId()
  const csr = host.pki.createNodeCsr({ nodeId, peerId: key.peerId })
  const gossipPort = DEFAULT_GOSSIP_PORT
  const manager = host.newManager(listen.host, listen.port)
  const boot = await manager.bootstrap({
    nodeId,
    hostname: hostname(),
    advertiseAddr,
    peerId: key.peerId,
    gossipAddrs: [`/ip4/${advertiseAddr}/tcp/${gossipPort}/p2p/${key.peerId}`],
    csrPem: csr.csrPem,
    dataPathPort: req.dataPathPort ?? DEFAULT_DATA_PATH_PORT,
    defaultAddrPool: pool,
    defaultAddrPoolMaskLen: req.defaultAddrPoolMaskLen ?? DEFAULT_POOL_MASK,
    defaultAddrPoolGiven: req.defaultAddrPool !== undefined,
    underlayMtu: (await underlayOf(advertiseAddr, options))?.mtu,
    ...(req.encryptionKeyRotationMs !== undefined
      ? { encryptionKeyRotationMs: req.encryptionKeyRotationMs }
      : {}),
    ...(req.ingressSubnet !== undefined ? { ingressSubnet: req.ingressSubnet } : {}),
  })
  const id: NodeIdentity = {
    nodeId,
    role: 'manager',
    clusterId: boot.cluster.id,
    hostname: hostname(),
    caPem: boot.cluster.caCertPem,
    certPem: boot.certPem,
    keyPem: csr.keyPem,
    peerKey: Buffer.from(key.privateKey).toString('base64'),
    peerId: key.peerId,
    managerAddr: `${advertiseAddr}:${listen.port}`,
    advertiseAddr,
    listenHost: listen.host,
    listenPort: listen.port,
    dataPathPort: boot.cluster.dataPathPort,
    gossipPort,
    ...(req.dnsUpstreams !== undefined ? { dnsUpstreams: req.dnsUpstreams } : {}),
  }
  try {
    await host.activate(id, options)
  } catch (err) {
    // nothing of the half-made cluster may remain: a port in use must leave the node as it was
    await host.deactivate()
    throw err
  }
  await host.saveIdentity(id, options)
  return {
    nodeId,
    clusterId: id.clusterId,
    managerAddr: id.managerAddr,
    workerToken: await manager.joinToken('worker', false),
  }
}

/** `join`: this node becomes a member of the cluster whose manager is `req.remoteAddr`. */
export async function joinSwarm(host: MembershipHost, req: JoinApiRequest, options?: AbortOptions) {
  refuseIfMember(host)
  const remote = splitHostPort(req.remoteAddr, DEFAULT_MANAGER_PORT)
  const advertiseAddr = await resolveAdvertiseAddr(req.advertiseAddr)
  const key = await host.generatePeerKey()
  const gossipPort = DEFAULT_GOSSIP_PORT
  const joined = await joinCluster(
    host.pki,
    {
      token: req.token,
      host: remote.host,
      port: remote.port,
      hostname: hostname(),
      advertiseAddr,
      peerId: key.peerId,
      gossipAddrs: [`/ip4/${advertiseAddr}/tcp/${gossipPort}/p2p/${key.peerId}`],
      underlayMtu: (await underlayOf(advertiseAddr, options))?.mtu,
    },
    options,
  )
  const id: NodeIdentity = {
    nodeId: joined.nodeId,
    role: joined.role,
    clusterId: joined.clusterId,
    hostname: hostname(),
    caPem: joined.caPem,
    certPem: joined.certPem,
    keyPem: joined.keyPem,
    peerKey: Buffer.from(key.privateKey).toString('base64'),
    peerId: key.peerId,
    managerAddr: `${remote.host}:${remote.port}`,
    advertiseAddr,
    listenHost: '0.0.0.0',
    listenPort: DEFAULT_MANAGER_PORT,
    dataPathPort: joined.dataPathPort,
    gossipPort,
    ...(req.dnsUpstreams !== undefined ? { dnsUpstreams: req.dnsUpstreams } : {}),
  }
  await host.saveIdentity(id, options)
  try {
    await host.activate(id, options)
  } catch (err) {
    await host.deactivate()
    throw err
  }
  return { nodeId: id.nodeId, role: id.role, clusterId: id.clusterId }
}

/** `leave`: a worker tells the manager (unless forced past a failure); a manager needs force. */
export async function leaveSwarm(host: MembershipHost, force: boolean, options?: AbortOptions) {
  const rt = host.runtime()
  if (rt === undefined) throw new NotFoundError('This node is not part of a swarm')
  if (rt.identity.role === 'manager' && !force)
    throw new ConflictError(
      'You are attempting to leave the swarm on a node that is its manager: the cluster state would be lost. Use --force to ignore this message.',
    )
  if (rt.identity.role === 'worker')
    await rt.leave(options).catch((err: Error) => {
      if (!force)
        throw new SwarmnetError(
          `could not tell the manager (${err.message}); use --force to leave anyway`,
          'ERR_LEAVE',
        )
    })
  await host.deactivate()
  return { ok: true as const }
}
