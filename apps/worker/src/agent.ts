/**
 * The node agent: one per host. It serves the local API on a unix socket, and while the node
 * is in a cluster runs a {@link NodeRuntime}. Membership changes (init, join, leave, removal)
 * are serialised through one queue so that they never interleave.
 */

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { chmod, mkdir, rm, unlink } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  SwarmnetError,
  serialQueue,
} from '@swarmnet/interface'
import { parseCidr } from '@swarmnet/ipv4'
import type { Manager } from '@swarmnet/manager'
import { createManager, newNodeId } from '@swarmnet/manager'
import type { Pki } from '@swarmnet/pki'
import type { Store } from '@swarmnet/store'
import { createApiHandler, localApi, route, serviceApi } from '@swarmnet/wire'
import { hostname, resolveAdvertiseAddr, splitHostPort, underlayOf } from './host.js'
import type { NodeIdentity } from './identity.js'
import { IDENTITY_KEY, IDENTITY_TABLE } from './identity.js'
import type { AgentInit } from './index.js'
import { agentInfo } from './info.js'
import { joinCluster } from './join.js'
import { NodeRuntime } from './node-runtime.js'
import { managerPeriods } from './periods.js'
import type { AgentFactories } from './ports.js'

/** What the agent runs on, with the factories already chosen. */
export interface AgentDeps {
  logger: Logger
  clock: Clock
  factories: AgentFactories
}

export class NotAManagerError extends SwarmnetError {
  constructor() {
    super(
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Run this command on a manager node.",
      'ERR_NOT_MANAGER',
    )
  }
}

const DEFAULT_POOL = '10.0.0.0/8'
const DEFAULT_POOL_MASK = 24
export const DEFAULT_MANAGER_PORT = 2377
export const DEFAULT_GOSSIP_PORT = 7946
export const DEFAULT_DATA_PATH_PORT = 4789

export class Agent {
  private readonly c: AgentDeps
  private readonly init: AgentInit
  private readonly pki: Pki
  private store: Store
  private server: http.Server | undefined
  private runtime: NodeRuntime | undefined
  private manager: Manager | undefined
  /** Membership changes (init, join, leave, removal), one at a time. */
  private readonly serial = serialQueue()

  constructor(components: AgentDeps, init: AgentInit) {
    this.c = components
    this.init = init
    this.pki = components.factories.pki()
    this.store = components.factories.store(this.storePath)
  }

  private get storePath(): string {
    return path.join(this.init.dataDir, 'state')
  }

  async start(options?: AbortOptions): Promise<void> {
    await mkdir(this.init.dataDir, { recursive: true, mode: 0o700 })
    await this.store.open(options)
    const id = await this.identity()
    if (id !== undefined) await this.activate(id, options)
    await this.listenLocal()
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (s !== undefined) {
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }
    await this.runtime?.stop()
    this.runtime = undefined
    await this.store.close()
  }

  private async listenLocal(): Promise<void> {
    await mkdir(path.dirname(this.init.socketPath), { recursive: true, mode: 0o755 })
    await unlink(this.init.socketPath).catch(() => undefined)
    const server = http.createServer(createApiHandler(this.routes(), this.c.logger))
    server.listen(this.init.socketPath)
    await once(server, 'listening')
    await chmod(this.init.socketPath, 0o600)
    this.server = server
    this.c.logger.info('local API listening', { socket: this.init.socketPath })
  }

  private async identity(options?: AbortOptions): Promise<NodeIdentity | undefined> {
    return this.store.table<NodeIdentity>(IDENTITY_TABLE).get(IDENTITY_KEY, options)
  }

  private async saveIdentity(id: NodeIdentity, options?: AbortOptions): Promise<void> {
    await this.store.table<NodeIdentity>(IDENTITY_TABLE).put(IDENTITY_KEY, id, options)
  }

  private newManager(listenHost: string, listenPort: number): Manager {
    return createManager(
      { logger: this.c.logger.child('manager'), clock: this.c.clock, store: this.store, pki: this.pki },
      {
        listenHost,
        listenPort,
        version: this.init.version,
        ...managerPeriods(this.init.periods),
      },
    )
  }

  private async activate(id: NodeIdentity, options?: AbortOptions): Promise<void> {
    this.manager = id.role === 'manager' ? this.newManager(id.listenHost, id.listenPort) : undefined
    const runtime = new NodeRuntime(
      {
        logger: this.c.logger.child('node'),
        clock: this.c.clock,
        pki: this.pki,
        factories: this.c.factories,
        store: this.store,
        taskDirs: { stateDir: path.join(this.init.dataDir, 'tasks'), logDir: this.init.taskLogDir },
        ...(this.manager ? { manager: this.manager } : {}),
        saveIdentity: (next, o) => this.saveIdentity(next, o),
        ...(this.init.periods ? { periods: this.init.periods } : {}),
        onRemoved: () => {
          void this.serial(() => this.deactivate())
        },
      },
      id,
    )
    await runtime.start(options)
    this.runtime = runtime
    this.c.logger.info('node active', { node: id.nodeId, role: id.role, cluster: id.clusterId })
  }

  /** Stops the node's roles and forgets all cluster state (identity, certificates, manager data). */
  private async deactivate(): Promise<void> {
    await this.runtime?.stop({ teardown: true })
    this.runtime = undefined
    this.manager = undefined
    await this.store.close()
    await rm(this.storePath, { recursive: true, force: true })
    this.store = this.c.factories.store(this.storePath)
    await this.store.open()
  }

  private requireNode(): NodeRuntime {
    if (this.runtime === undefined) throw new NotFoundError('This node is not part of a swarm')
    return this.runtime
  }

  private requireManager(): { manager: Manager; id: NodeIdentity } {
    const id = this.runtime?.identity
    if (id === undefined) throw new NotFoundError('This node is not part of a swarm')
    if (this.manager === undefined) throw new NotAManagerError()
    return { manager: this.manager, id }
  }

  private async doInit(req: {
    advertiseAddr?: string | undefined
    listenAddr?: string | undefined
    dataPathPort?: number | undefined
    defaultAddrPool?: string | undefined
    defaultAddrPoolMaskLen?: number | undefined
  }) {
    if (this.runtime !== undefined)
      throw new ConflictError(
        'This node is already part of a swarm. Use "swarmnet leave" to leave this swarm and join another one.',
      )
    const advertiseAddr = await resolveAdvertiseAddr(req.advertiseAddr)
    const listen = splitHostPort(req.listenAddr ?? `0.0.0.0:${DEFAULT_MANAGER_PORT}`, DEFAULT_MANAGER_PORT)
    const pool = req.defaultAddrPool ?? DEFAULT_POOL
    if (parseCidr(pool) === undefined) throw new InvalidInputError(`invalid --default-addr-pool '${pool}'`)
    const key = await this.c.factories.generatePeerKey()
    const nodeId = newNodeId()
    const csr = this.pki.createNodeCsr({ nodeId, peerId: key.peerId })
    const gossipPort = DEFAULT_GOSSIP_PORT
    const manager = this.newManager(listen.host, listen.port)
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
      underlayMtu: (await underlayOf(advertiseAddr))?.mtu,
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
    }
    try {
      await this.activate(id)
    } catch (err) {
      // nothing of the half-made cluster may remain: a port in use must leave the node as it was
      await this.deactivate()
      throw err
    }
    await this.saveIdentity(id)
    return {
      nodeId,
      clusterId: id.clusterId,
      managerAddr: id.managerAddr,
      workerToken: await manager.joinToken('worker', false),
    }
  }

  private async doJoin(req: {
    token: string
    remoteAddr: string
    advertiseAddr?: string | undefined
    listenAddr?: string | undefined
  }) {
    if (this.runtime !== undefined)
      throw new ConflictError(
        'This node is already part of a swarm. Use "swarmnet leave" to leave this swarm and join another one.',
      )
    const remote = splitHostPort(req.remoteAddr, DEFAULT_MANAGER_PORT)
    const advertiseAddr = await resolveAdvertiseAddr(req.advertiseAddr)
    const key = await this.c.factories.generatePeerKey()
    const gossipPort = DEFAULT_GOSSIP_PORT
    const joined = await joinCluster(this.pki, {
      token: req.token,
      host: remote.host,
      port: remote.port,
      hostname: hostname(),
      advertiseAddr,
      peerId: key.peerId,
      gossipAddrs: [`/ip4/${advertiseAddr}/tcp/${gossipPort}/p2p/${key.peerId}`],
      underlayMtu: (await underlayOf(advertiseAddr))?.mtu,
    })
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
    }
    await this.saveIdentity(id)
    try {
      await this.activate(id)
    } catch (err) {
      await this.deactivate()
      throw err
    }
    return { nodeId: id.nodeId, role: id.role, clusterId: id.clusterId }
  }

  private async doLeave(force: boolean) {
    const rt = this.runtime
    if (rt === undefined) throw new NotFoundError('This node is not part of a swarm')
    if (rt.identity.role === 'manager' && !force)
      throw new ConflictError(
        'You are attempting to leave the swarm on a node that is its manager: the cluster state would be lost. Use --force to ignore this message.',
      )
    if (rt.identity.role === 'worker')
      await rt.leave().catch((err: Error) => {
        if (!force)
          throw new SwarmnetError(
            `could not tell the manager (${err.message}); use --force to leave anyway`,
            'ERR_LEAVE',
          )
      })
    await this.deactivate()
    return { ok: true as const }
  }

  private routes() {
    return [
      route(localApi.info, async () =>
        agentInfo(this.runtime, await this.c.factories.capabilities(), this.init.version),
      ),
      route(localApi.init, (req) => this.serial(() => this.doInit(req))),
      route(localApi.join, (req) => this.serial(() => this.doJoin(req))),
      route(localApi.leave, (req) => this.serial(() => this.doLeave(req.force))),
      route(localApi.joinToken, async (req) => {
        const { manager, id } = this.requireManager()
        return {
          role: req.role,
          token: await manager.joinToken(req.role, req.rotate),
          managerAddr: id.managerAddr,
        }
      }),
      route(localApi.nodeList, () => {
        const { manager, id } = this.requireManager()
        return manager.listNodes(id.nodeId)
      }),
      route(localApi.nodeInspect, async (req) => {
        const { manager, id } = this.requireManager()
        const n = await manager.findNode(req.ref)
        const all = await manager.listNodes(id.nodeId)
        const v = all.find((x) => x.id === n.id)
        if (v === undefined) throw new NotFoundError(`node ${req.ref} not found`)
        return v
      }),
      route(localApi.nodeUpdate, (req) => {
        const { manager, id } = this.requireManager()
        return manager.updateNode(
          req.ref,
          req.availability ? { availability: req.availability } : {},
          id.nodeId,
        )
      }),
      route(localApi.networkCreate, async (req) =>
        (await this.requireManager().manager.networks()).create(req),
      ),
      route(localApi.networkList, async () => (await this.requireManager().manager.networks()).list()),
      route(localApi.networkInspect, async (req) =>
        (await this.requireManager().manager.networks()).inspect(req.ref),
      ),
      route(localApi.networkRemove, async (req) => {
        await (await this.requireManager().manager.networks()).remove(req.ref)
        return { ok: true as const }
      }),
      route(localApi.endpointAttach, (req) =>
        this.requireNode().networks.attach(req.network, req.id ?? newEndpointId()),
      ),
      route(localApi.endpointDetach, async (req) => {
        await this.requireNode().networks.detach(req.id)
        return { ok: true as const }
      }),
      route(localApi.endpointList, () => this.requireNode().networks.list()),
      route(serviceApi.create, async (req) => (await this.requireManager().manager.services()).create(req)),
      route(serviceApi.list, async () => (await this.requireManager().manager.services()).list()),
      route(serviceApi.inspect, async (req) =>
        (await this.requireManager().manager.services()).inspect(req.ref),
      ),
      route(serviceApi.ps, async (req) => (await this.requireManager().manager.services()).ps(req.ref)),
      route(serviceApi.scale, async (req) =>
        (await this.requireManager().manager.services()).scale(req.ref, req.replicas),
      ),
      route(serviceApi.remove, async (req) => {
        await (await this.requireManager().manager.services()).remove(req.ref)
        return { ok: true as const }
      }),
      route(serviceApi.logs, async (req) =>
        (await this.requireManager().manager.services()).logs(req.ref, req.tail),
      ),
      route(localApi.nodeRemove, async (req) => {
        const { manager, id } = this.requireManager()
        await manager.removeNode(req.ref, req.force, id.nodeId)
        return { ok: true as const }
      }),
    ]
  }
}

function newEndpointId(): string {
  return `ep-${randomBytes(5).toString('hex')}`
}
