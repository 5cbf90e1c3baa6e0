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
import { NotFoundError, serialQueue } from '@swarmnet/interface'
import type { Manager } from '@swarmnet/manager'
import { createManager } from '@swarmnet/manager'
import type { Pki } from '@swarmnet/pki'
import type { Store } from '@swarmnet/store'
import type { Route } from '@swarmnet/wire'
import { createApiHandler, localApi, route } from '@swarmnet/wire'
import { startAgentMetrics } from './agent-metrics.js'
import type { NodeIdentity } from './identity.js'
import { IDENTITY_KEY, IDENTITY_TABLE } from './identity.js'
import type { AgentInit } from './index.js'
import { agentInfo } from './info.js'
import { managerRoutes } from './manager-routes.js'
import { initCluster, joinSwarm, leaveSwarm, type MembershipHost } from './membership.js'
import { AgentMeter } from './metered.js'
import { type MetricsServer, parseMetricsAddr } from './metrics-server.js'
import { NodeRuntime } from './node-runtime.js'
import { managerPeriods } from './periods.js'
import type { AgentFactories } from './ports.js'

/** What the agent runs on, with the factories already chosen. */
export interface AgentDeps {
  logger: Logger
  clock: Clock
  factories: AgentFactories
}

export class Agent {
  private readonly c: AgentDeps
  private readonly init: AgentInit
  private readonly pki: Pki
  /** The factories, watched by the meter (what the metrics read). */
  private readonly factories: AgentFactories
  private readonly meter: AgentMeter
  private readonly metricsAddr: { host: string; port: number } | undefined
  private store: Store
  private server: http.Server | undefined
  private metricsServer: MetricsServer | undefined
  private runtime: NodeRuntime | undefined
  private manager: Manager | undefined
  /** Membership changes (init, join, leave, removal), one at a time. */
  private readonly serial = serialQueue()

  constructor(components: AgentDeps, init: AgentInit) {
    this.c = components
    this.init = init
    this.metricsAddr = init.metricsAddr === undefined ? undefined : parseMetricsAddr(init.metricsAddr)
    this.meter = new AgentMeter(components.clock)
    this.factories = this.meter.wrap(components.factories)
    this.pki = components.factories.pki()
    this.store = components.factories.store(this.storePath)
  }

  private get storePath(): string {
    return path.join(this.init.dataDir, 'state')
  }

  async start(options?: AbortOptions): Promise<void> {
    // first, so that an address in use fails the start before anything else runs
    if (this.metricsAddr !== undefined)
      this.metricsServer = await startAgentMetrics(
        this.metricsAddr,
        this.meter,
        { runtime: () => this.runtime, manager: () => this.manager },
        this.c.logger.child('metrics'),
        options,
      )
    try {
      await mkdir(this.init.dataDir, { recursive: true, mode: 0o700 })
      await this.store.open(options)
      const id = await this.identity()
      if (id !== undefined) await this.activate(id, options)
      await this.listenLocal()
    } catch (err) {
      await this.metricsServer?.close()
      this.metricsServer = undefined
      throw err
    }
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
    await this.metricsServer?.close()
    this.metricsServer = undefined
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
        factories: this.factories,
        store: this.store,
        taskDirs: { stateDir: path.join(this.init.dataDir, 'tasks'), logDir: this.init.taskLogDir },
        ...(this.manager ? { manager: this.manager } : {}),
        saveIdentity: (next, o) => this.saveIdentity(next, o),
        ...(this.init.periods ? { periods: this.init.periods } : {}),
        ...(this.init.lbBackend !== undefined ? { lbBackend: this.init.lbBackend } : {}),
        ...(this.init.dnsUpstreams !== undefined ? { dnsUpstreams: this.init.dnsUpstreams } : {}),
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

  /** What the membership verbs see of this agent. */
  private membershipHost(): MembershipHost {
    return {
      pki: this.pki,
      runtime: () => this.runtime,
      generatePeerKey: () => this.c.factories.generatePeerKey(),
      newManager: (host, port) => this.newManager(host, port),
      activate: (id, options) => this.activate(id, options),
      deactivate: () => this.deactivate(),
      saveIdentity: (id, options) => this.saveIdentity(id, options),
    }
  }

  private routes(): Route[] {
    const member = this.membershipHost()
    return [
      route(localApi.info, async () => {
        const caps = await this.c.factories.capabilities()
        const choice = this.init.lbBackend ?? 'auto'
        // before the node runs: what its dataplane's `auto` will take (IPVS where the kernel has it)
        const auto = caps.ipvs ? 'ipvs' : 'nftables'
        const lbBackend = (await this.runtime?.lbBackend()) ?? (choice !== 'auto' ? choice : auto)
        const cgroup = await this.runtime?.taskRuntime.cgroups()
        return {
          ...agentInfo(this.runtime, { ...caps, lbBackend }, this.init.version),
          ...(cgroup ? { cgroup } : {}),
        }
      }),
      route(localApi.init, (req) => this.serial(() => initCluster(member, req))),
      route(localApi.join, (req) => this.serial(() => joinSwarm(member, req))),
      route(localApi.leave, (req) => this.serial(() => leaveSwarm(member, req.force))),
      route(localApi.endpointAttach, (req) =>
        this.requireNode().networks.attach(req.network, req.id ?? newEndpointId()),
      ),
      route(localApi.endpointDetach, async (req) => {
        await this.requireNode().networks.detach(req.id)
        return { ok: true as const }
      }),
      route(localApi.endpointList, () => this.requireNode().networks.list()),
      ...managerRoutes({
        identity: () => this.runtime?.identity,
        manager: () => this.manager,
        services: (networkId) => this.runtime?.networkServices(networkId),
      }),
    ]
  }
}

function newEndpointId(): string {
  return `ep-${randomBytes(5).toString('hex')}`
}
