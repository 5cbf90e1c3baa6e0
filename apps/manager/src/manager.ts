/**
 * The manager role: owns the cluster record (CA, tokens), the node registry and liveness,
 * and serves the manager API on TCP 2377. One manager per cluster for now; its state lives
 * in level through the injected store and survives restarts.
 * Liveness is observed, not stored (liveness.ts).
 */
import type { Server } from 'node:https'
import type { AbortOptions } from '@swarmnet/interface'
import { ConflictError, NotFoundError } from '@swarmnet/interface'
import type { NodeView, RequestContext } from '@swarmnet/wire'
import { verifyCaller } from './auth.js'
import { newId } from './ids.js'
import { checkIngressSubnet, ensureIngress } from './ingress.js'
import { admitNode, type JoinRequest } from './join.js'
import { KeyManager } from './keys.js'
import { HEARTBEAT_PERIOD_MS, Liveness } from './liveness.js'
import { Membership } from './membership.js'
import { mtuWarnings } from './mtu.js'
import { mtuOf } from './network-views.js'
import { NetworkService } from './networks.js'
import { afterHeartbeat, newNodeRecord, nodeView, schedulerNode, updatedLabels } from './nodes.js'
import { encryptionFilter } from './placement.js'
import { checkAddressPool } from './pool.js'
import type { ClusterRecord, NodeRecord, RevokedRecord } from './records.js'
import { resolveRef } from './refs.js'
import { type HeartbeatRequest, type HeartbeatResponse, managerRoutes } from './routes.js'
import { listenTls } from './server.js'
import { ServiceController } from './services.js'
import { Sessions } from './sessions.js'
import type { BootstrapInit, Manager, ManagerComponents, ManagerInit } from './types.js'

export { DOWN_AFTER_PERIODS, HEARTBEAT_PERIOD_MS } from './liveness.js'

export class DefaultManager implements Manager {
  private readonly c: ManagerComponents
  private readonly init: ManagerInit
  private readonly clusters
  private readonly nodes
  private readonly revoked
  private readonly liveness: Liveness
  private readonly membership: Membership
  private readonly sessions = new Sessions()
  private server: Server | undefined
  private networkService: NetworkService | undefined
  private serviceController: ServiceController | undefined
  private keyManager: KeyManager | undefined

  constructor(components: ManagerComponents, init: ManagerInit) {
    this.c = components
    this.init = init
    this.clusters = components.store.table<ClusterRecord>('cluster')
    this.nodes = components.store.table<NodeRecord>('nodes')
    this.revoked = components.store.table<RevokedRecord>('revoked')
    this.liveness = new Liveness(components.clock, init.heartbeatPeriodMs, init.downAfterPeriods)
    this.membership = new Membership(this.nodes, this.revoked, (id) => this.status(id))
  }

  /** Creates the cluster: CA, tokens and this node's record. Nothing is written if it fails. */
  async bootstrap(
    b: BootstrapInit,
    options?: AbortOptions,
  ): Promise<{ cluster: ClusterRecord; node: NodeRecord; certPem: string }> {
    if ((await this.clusters.get('self', options)) !== undefined)
      throw new ConflictError('this node is already a manager of a cluster')
    checkAddressPool(
      b.defaultAddrPool,
      b.defaultAddrPoolMaskLen,
      b.advertiseAddr,
      b.defaultAddrPoolGiven === true,
    )
    if (b.ingressSubnet !== undefined)
      checkIngressSubnet(
        b.ingressSubnet,
        { pools: [b.defaultAddrPool], size: b.defaultAddrPoolMaskLen },
        b.advertiseAddr,
      )
    const clusterId = newId()
    const ca = this.c.pki.createCa({ clusterId })
    const now = new Date(this.c.clock.now()).toISOString()
    const cluster: ClusterRecord = {
      id: clusterId,
      createdAt: now,
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      dataPathPort: b.dataPathPort,
      defaultAddrPool: b.defaultAddrPool,
      defaultAddrPoolMaskLen: b.defaultAddrPoolMaskLen,
      workerSecret: this.c.pki.generateTokenSecret(),
      managerSecret: this.c.pki.generateTokenSecret(),
      ...(b.encryptionKeyRotationMs !== undefined
        ? { encryptionKeyRotationMs: b.encryptionKeyRotationMs }
        : {}),
      ...(b.ingressSubnet !== undefined ? { ingressSubnet: b.ingressSubnet } : {}),
    }
    const issued = this.c.pki.issueNodeCertificate(ca, {
      csrPem: b.csrPem,
      nodeId: b.nodeId,
      role: 'manager',
      clusterId,
      peerId: b.peerId,
    })
    const node = newNodeRecord(b, 'manager', issued, now, this.init.version)
    await this.c.store.batch([this.clusters.putOp('self', cluster), this.nodes.putOp(node.id, node)], options)
    this.liveness.seen(node.id)
    return { cluster, node, certPem: issued.certPem }
  }

  /** Serves the manager API with this node's certificate. */
  async start(tls: { certPem: string; keyPem: string }, options?: AbortOptions): Promise<void> {
    const cluster = await this.cluster(options)
    this.rotationMs = cluster.encryptionKeyRotationMs
    this.liveness.restart()
    this.server = await listenTls(
      { host: this.init.listenHost, port: this.init.listenPort },
      { cert: tls.certPem, key: tls.keyPem, ca: cluster.caCertPem },
      this.routes(),
      this.c.logger,
    )
    this.c.logger.info('manager API listening', { host: this.init.listenHost, port: this.init.listenPort })
    await this.keys().start(options)
    // at init, and for a cluster from before 0.6 at its first start; without it only the mesh is missing
    await ensureIngress(await this.networks(options), this.c.logger, cluster.ingressSubnet, options).catch(
      (err: unknown) => this.c.logger.warn('ingress network not created', { err }),
    )
    ;(await this.services(options)).start()
  }

  async stop(): Promise<void> {
    await this.serviceController?.stop()
    this.serviceController = undefined
    await this.keyManager?.stop()
    this.keyManager = undefined
    const s = this.server
    this.server = undefined
    if (s === undefined) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
    this.membership.close()
  }

  /** The IPsec keyring (created by start, which has the cluster record for its period). */
  private keys(): KeyManager {
    if (this.keyManager === undefined) {
      this.keyManager = new KeyManager(
        { store: this.c.store, clock: this.c.clock, logger: this.c.logger.child('keys') },
        this.rotationMs === undefined ? {} : { rotationMs: this.rotationMs },
      )
    }
    return this.keyManager
  }

  private rotationMs: number | undefined

  async rotateKeys(options?: AbortOptions): Promise<number> {
    return (await this.keys().rotate(options)).generation
  }

  /** Networks and endpoint addresses; needs the cluster record for its address pool. */
  async networks(options?: AbortOptions): Promise<NetworkService> {
    if (this.networkService === undefined) {
      const cluster = await this.cluster(options)
      this.networkService = new NetworkService(
        {
          store: this.c.store,
          clock: this.c.clock,
          logger: this.c.logger.child('networks'),
          users: async (id, o) => (await this.services(o)).networkUsers(id, o),
          nodeAddrs: async (o) => (await this.allNodes(o)).map((n) => n.addr),
          underlayMtus: async (o) => (await this.allNodes(o)).flatMap((n) => n.underlayMtu ?? []),
          keyGeneration: () => this.keyManager?.generation,
        },
        { pools: [cluster.defaultAddrPool], size: cluster.defaultAddrPoolMaskLen },
      )
    }
    return this.networkService
  }

  /** Services, tasks, the orchestrator loop and the dispatcher. */
  async services(options?: AbortOptions): Promise<ServiceController> {
    if (this.serviceController === undefined) {
      this.serviceController = new ServiceController({
        store: this.c.store,
        clock: this.c.clock,
        logger: this.c.logger.child('services'),
        ...(this.init.orchestratePeriodMs ? { periodMs: this.init.orchestratePeriodMs } : {}),
        networks: await this.networks(options),
        keys: this.keys(),
        placement: async (o) => encryptionFilter(await (await this.networks(o)).allNetworks(o)),
        nodes: async (o) =>
          (await this.allNodes(o)).map((n) =>
            schedulerNode(n, this.status(n.id), () => this.liveness.downSince(n.id)),
          ),
      })
    }
    return this.serviceController
  }

  async cluster(options?: AbortOptions): Promise<ClusterRecord> {
    const c = await this.clusters.get('self', options)
    if (c === undefined) throw new NotFoundError('no cluster on this node')
    return c
  }

  async joinToken(role: 'worker' | 'manager', rotate: boolean, options?: AbortOptions): Promise<string> {
    let cluster = await this.cluster(options)
    if (rotate) {
      const secret = this.c.pki.generateTokenSecret()
      cluster =
        role === 'worker' ? { ...cluster, workerSecret: secret } : { ...cluster, managerSecret: secret }
      await this.clusters.put('self', cluster, options)
      this.c.logger.info('join token rotated', { role })
    }
    return this.c.pki.createJoinToken(
      cluster.caCertPem,
      role === 'worker' ? cluster.workerSecret : cluster.managerSecret,
    )
  }

  async listNodes(selfId: string, options?: AbortOptions): Promise<NodeView[]> {
    const all = await this.allNodes(options)
    const nets = await this.networkMtus(options)
    return all
      .map((n) => nodeView(n, selfId, this.status(n.id), nets))
      .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id))
  }

  async findNode(ref: string, options?: AbortOptions): Promise<NodeRecord> {
    return resolveRef('node', await this.allNodes(options), ref, (n) => n.hostname)
  }

  async updateNode(
    ref: string,
    patch: {
      availability?: NodeRecord['availability']
      labelAdd?: Record<string, string>
      labelRm?: string[]
    },
    selfId: string,
    options?: AbortOptions,
  ): Promise<NodeView> {
    const n = await this.findNode(ref, options)
    const labels = updatedLabels(n.labels, patch.labelAdd, patch.labelRm)
    const next: NodeRecord = {
      ...n,
      ...(patch.availability !== undefined ? { availability: patch.availability } : {}),
      labels,
      updatedAt: new Date(this.c.clock.now()).toISOString(),
    }
    await this.nodes.put(n.id, next, options)
    if (JSON.stringify(labels) !== JSON.stringify(n.labels ?? {}))
      this.c.logger.info('node labels changed', { node: n.id, hostname: n.hostname, labels })
    if (next.availability !== n.availability)
      this.c.logger.info('node availability changed', {
        node: n.id,
        hostname: n.hostname,
        from: n.availability,
        to: next.availability,
      })
    return nodeView(next, selfId, this.status(next.id), await this.networkMtus(options))
  }

  /** Removes a node and revokes its certificate cluster-wide. */
  async removeNode(ref: string, force: boolean, selfId: string, options?: AbortOptions): Promise<void> {
    const n = await this.findNode(ref, options)
    if (n.id === selfId)
      throw new ConflictError('cannot remove the manager itself; use "swarmnet leave --force" on it')
    if (!force && this.status(n.id) === 'ready')
      throw new ConflictError(
        `node ${n.id} is not down and can't be removed (use --force to remove it anyway)`,
      )
    const at = new Date(this.c.clock.now()).toISOString()
    await this.c.store.batch(
      [this.nodes.delOp(n.id), this.revoked.putOp(n.id, { nodeId: n.id, serial: n.certSerial, at })],
      options,
    )
    this.liveness.forget(n.id)
    this.sessions.close(n.id)
    await (await this.networks(options)).releaseNode(n.id, options)
    this.c.logger.info('node removed, certificate revoked', { node: n.id })
    this.c.events?.onRevoked?.(n.id)
  }

  private async allNodes(options?: AbortOptions): Promise<NodeRecord[]> {
    await this.membership.load(options)
    return this.membership.nodes.values()
  }

  private authority(cluster: ClusterRecord): { certPem: string; keyPem: string } {
    return { certPem: cluster.caCertPem, keyPem: cluster.caKeyPem }
  }

  async revokedIds(options?: AbortOptions): Promise<string[]> {
    await this.membership.load(options)
    return this.membership.revoked.values().map((r) => r.nodeId)
  }

  /** Nodes with an open session to this manager. */
  get sessionCount(): number {
    return this.sessions.connected
  }

  status(nodeId: string): NodeView['status'] {
    return this.liveness.status(nodeId)
  }

  private async networkMtus(options?: AbortOptions): Promise<{ name: string; mtu: number }[]> {
    return (await (await this.networks(options)).allNetworks(options)).map((n) => ({
      name: n.name,
      mtu: mtuOf(n),
    }))
  }

  /** The caller's node, from its client certificate (verified once per session); never from the body. */
  private async caller(ctx: RequestContext): Promise<NodeRecord> {
    await this.membership.load()
    return this.sessions.caller(
      ctx,
      async () =>
        verifyCaller(ctx, {
          pki: this.c.pki,
          cluster: await this.cluster(),
          revoked: new Set(await this.revokedIds()),
          node: async (id) => this.membership.nodes.get(id),
        }),
      (id) => this.membership.nodes.get(id),
    )
  }

  private routes() {
    return managerRoutes({
      caller: (ctx) => this.caller(ctx),
      cluster: () => this.cluster(),
      join: (req) => this.join(req),
      heartbeat: (n, req) => this.heartbeat(n, req),
      renew: (n, csrPem) => this.renew(n, csrPem),
      seen: (id) => this.liveness.seen(id),
      services: () => this.services(),
      networks: () => this.networks(),
      leave: (id) => this.removeNode(id, true, ''),
    })
  }

  /** A node's heartbeat: its record kept current; the membership lists only when they moved. */
  private async heartbeat(n: NodeRecord, req: HeartbeatRequest): Promise<HeartbeatResponse> {
    this.liveness.seen(n.id)
    const next = afterHeartbeat(n, req, new Date(this.c.clock.now()).toISOString())
    if (next !== undefined) await this.nodes.put(n.id, next)
    const view = await this.membership.view()
    const warnings = mtuWarnings(req.underlayMtu ?? n.underlayMtu, await this.networkMtus())
    const periodMs = this.init.heartbeatPeriodMs ?? HEARTBEAT_PERIOD_MS
    if (req.membership === view.version) return { periodMs, membership: view.version, warnings }
    return {
      periodMs,
      membership: view.version,
      revoked: [...view.revoked],
      peers: view.peers.filter((p) => p.nodeId !== n.id),
      warnings,
    }
  }

  private async renew(n: NodeRecord, csrPem: string): Promise<{ certPem: string }> {
    const cluster = await this.cluster()
    const issued = this.c.pki.issueNodeCertificate(this.authority(cluster), {
      csrPem,
      nodeId: n.id,
      role: n.role,
      clusterId: cluster.id,
      peerId: n.peerId,
    })
    await this.nodes.put(n.id, {
      ...n,
      certSerial: issued.serial,
      certExpiry: new Date(issued.notAfter).toISOString(),
    })
    return { certPem: issued.certPem }
  }

  private async join(req: JoinRequest) {
    return admitNode(
      {
        cluster: await this.cluster(),
        pki: this.c.pki,
        nodes: await this.allNodes(),
        now: this.c.clock.now(),
        listenPort: this.init.listenPort,
        version: this.init.version,
        save: async (node) => {
          await this.nodes.put(node.id, node)
          this.liveness.seen(node.id)
          this.c.logger.info('node joined', { node: node.id, hostname: node.hostname, role: node.role })
        },
      },
      req,
    )
  }
}
