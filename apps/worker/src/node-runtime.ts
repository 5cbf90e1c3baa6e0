/**
 * A node that is part of a cluster: the manager role when it is a manager (started first, so
 * that its own heartbeats find it), then the gossip mesh with certificate admission, then the
 * heartbeat loop that keeps it `ready`, learns its peers and the revocation list, and renews
 * the node certificate at 50–80 % of its life.
 */

import type { Agent as HttpsAgent } from 'node:https'
import type { Dataplane } from '@swarmnet/dataplane'
import type { Gossip } from '@swarmnet/gossip'
import type { AbortOptions, Clock, Logger, Periodic } from '@swarmnet/interface'
import { startPeriodic } from '@swarmnet/interface'
import type { Manager } from '@swarmnet/manager'
import { HEARTBEAT_PERIOD_MS } from '@swarmnet/manager'
import type { Pki } from '@swarmnet/pki'
import { cgroupParent, type Runtime } from '@swarmnet/runtime'
import type { Store } from '@swarmnet/store'
import type { ApiTarget, PeerInfo } from '@swarmnet/wire'
import { callApi, createSessionAgent, dispatcherApi, managerApi, RemoteError } from '@swarmnet/wire'
import { Discovery } from './discovery.js'
import { DeltaDispatcher, watchAssignments } from './dispatcher-client.js'
import { underlayOf } from './host.js'
import type { NodeIdentity } from './identity.js'
import { redialPeers } from './mesh.js'
import { NetworkController } from './networks.js'
import { nodeCapabilities, nodeResources, verifyPeer } from './node-report.js'
import type { AgentPeriods } from './periods.js'
import type { AgentFactories } from './ports.js'
import { servicesView } from './service-table.js'
import { TaskAgent, type TaskCounters } from './tasks.js'

/** Where the agent mounts the cgroup hierarchies its host has not mounted (a lab host). */
export const CGROUP_MOUNT_DIR = '/run/swarmnet/cgroup'

export interface NodeRuntimeComponents {
  logger: Logger
  clock: Clock
  pki: Pki
  factories: AgentFactories
  store: Store
  /** where task state and logs live */
  taskDirs: { stateDir: string; logDir: string }
  manager?: Manager
  /** persist a changed identity (certificate renewal) */
  saveIdentity(id: NodeIdentity, options?: AbortOptions): Promise<void>
  /** the manager says this node is no longer a member */
  onRemoved(reason: string): void
  /** the agent's periods (emulated hosts run slower) */
  periods?: Partial<AgentPeriods>
  /** the service load balancer backend (`swarmnet agent --lb-backend`) @default 'auto' */
  lbBackend?: 'auto' | 'ipvs' | 'nftables'
  /** the resolver's upstreams (`--dns-upstream`) @default the node's /etc/resolv.conf */
  dnsUpstreams?: readonly string[]
}

/** How long one watch call waits for a change before asking again. */
export const WATCH_WAIT_MS = 25_000

export interface HeartbeatState {
  ok: boolean
  at: number
  error?: string
}

export class NodeRuntime {
  private readonly c: NodeRuntimeComponents
  private id: NodeIdentity
  private gossip: Gossip | undefined
  private net: NetworkController | undefined
  private discovery: Discovery | undefined
  private dataplane: Dataplane | undefined
  private tasks: TaskAgent | undefined
  private readonly loop = new AbortController()
  private heartbeats: Periodic | undefined
  private renewAt = 0
  private revoked = new Set<string>()
  /** The membership version whose lists this node holds, and its peers. */
  private membership: string | undefined
  private peers: readonly PeerInfo[] = []
  heartbeat: HeartbeatState = { ok: false, at: 0 }
  /** MTU of the interface carrying the advertise address, as last read. */
  underlayMtu: number | undefined
  /** What the manager finds wrong with this node (last heartbeat), e.g. an underlay too small. */
  warnings: readonly string[] = []

  constructor(components: NodeRuntimeComponents, identity: NodeIdentity) {
    this.c = components
    this.id = identity
    this.taskRuntime = components.factories.runtime({
      ...components.taskDirs,
      cgroups: { mountDir: CGROUP_MOUNT_DIR, parent: cgroupParent(identity.hostname) },
    })
  }

  /** Runs this node's tasks; owns their cgroups. */
  readonly taskRuntime: Runtime

  get identity(): NodeIdentity {
    return this.id
  }

  /** Task transitions on this node since the agent started. */
  get taskCounters(): TaskCounters {
    return this.tasks?.counters ?? { started: 0, rejected: 0, failed: 0 }
  }

  /** A network's services as this node's gossip shows them (`network inspect`). */
  networkServices(networkId: string) {
    const table = this.net?.services(networkId)
    return table === undefined ? undefined : servicesView(table)
  }

  /** The resolver's state, for `info`. */
  get dns(): { upstreams: string[]; listening: boolean } | undefined {
    return this.discovery?.info
  }

  /** The service load balancer backend of this node's dataplane. */
  lbBackend(options?: AbortOptions): Promise<'ipvs' | 'nftables'> | undefined {
    return this.dataplane?.lbBackend(options)
  }

  get gossipPeers(): number {
    return this.gossip?.peers().length ?? 0
  }

  async start(options?: AbortOptions): Promise<void> {
    if (this.c.manager !== undefined)
      await this.c.manager.start({ certPem: this.id.certPem, keyPem: this.id.keyPem }, options)
    try {
      const gossip = this.c.factories.gossip({
        privateKey: Buffer.from(this.id.peerKey, 'base64'),
        listen: [`/ip4/${this.id.advertiseAddr}/tcp/${this.id.gossipPort}`],
        admission: {
          credentials: () => new TextEncoder().encode(this.id.certPem),
          verify: (peerId, proof) =>
            verifyPeer(
              { pki: this.c.pki, id: this.id, revoked: this.revoked, logger: this.c.logger },
              peerId,
              proof,
            ),
        },
      })
      await gossip.start(options)
      this.gossip = gossip
      this.underlayMtu = (await underlayOf(this.id.advertiseAddr, options))?.mtu
      const dataplane = this.c.factories.dataplane({
        advertiseAddress: this.id.advertiseAddr,
        dataPathPort: this.id.dataPathPort,
        ...(this.underlayMtu !== undefined ? { underlayMtu: this.underlayMtu } : {}),
        ...(this.c.lbBackend !== undefined ? { lbBackend: this.c.lbBackend } : {}),
      })
      this.dataplane = dataplane
      const discovery = new Discovery(this.c.logger.child('discovery'), {
        address: dataplane.gateway.address,
        upstreams: this.c.dnsUpstreams ?? this.id.dnsUpstreams,
        lookup: (client, name) => this.net?.lookup(client, name),
      })
      this.discovery = discovery
      const net = new NetworkController(
        {
          logger: this.c.logger.child('networks'),
          clock: this.c.clock,
          store: this.c.store,
          dataplane,
          netdb: this.c.factories.netdb(gossip, this.id.nodeId),
          manager: () => this.managerTarget(),
          ...(this.c.periods?.driftCheckMs ? { periodMs: this.c.periods.driftCheckMs } : {}),
          afterReconcile: (o) => discovery.ensureListening(o),
        },
        this.id.advertiseAddr,
      )
      await net.start(options)
      this.net = net
      if (this.c.manager !== undefined)
        await discovery.publishVips(
          this.c.manager,
          this.id.advertiseAddr,
          (r, o) => net.setRecords(r, o),
          options,
        )
      this.tasks = new TaskAgent({
        logger: this.c.logger.child('tasks'),
        clock: this.c.clock,
        runtime: this.taskRuntime,
        networks: net,
        dispatcher: this.dispatcher,
        hostname: this.id.hostname,
        resolvConf: discovery.resolvConf,
        ...(this.c.periods?.taskSyncMs ? { periodMs: this.c.periods.taskSyncMs } : {}),
      })
      this.tasks.start()
      this.watching = this.watchLoop(this.loop.signal)
    } catch (err) {
      await this.discovery?.stop()
      await this.gossip?.stop()
      this.gossip = undefined
      await this.c.manager?.stop()
      throw err
    }
    this.renewAt = this.renewalTime()
    this.heartbeats = startPeriodic({
      clock: this.c.clock,
      periodMs: this.c.periods?.heartbeatMs ?? HEARTBEAT_PERIOD_MS,
      signal: this.loop.signal,
      tick: (signal) => this.heartbeatTick(signal),
      onError: (err) => this.heartbeatFailed(err),
    })
  }

  /**
   * This node's end of the dispatcher session (assignment deltas); the IPsec keyring rides it:
   * the version held goes out, a newer keyring comes back (keys travel on no other path).
   */
  private readonly dispatcher = new DeltaDispatcher(async (req, o) => {
    const keys = this.net?.keyVersion
    const res = await callApi(
      this.managerTarget(),
      dispatcherApi.sync,
      { ...req, ...(keys !== undefined ? { keys } : {}) },
      { ...o, timeoutMs: Math.max(5_000, 5 * (this.c.periods?.taskSyncMs ?? 1_000)) },
    )
    if (res.keys !== undefined) this.net?.setKeys(res.keys)
    if (res.ingress !== undefined) await this.net?.setIngress(res.ingress, o)
    return res
  })
  /** What this node's kernel can do (`esp`, `ipvs`), probed once, for the manager's placement. */
  private capabilities: string[] | undefined
  private watching: Promise<void> | undefined

  /** The push half of the session (see {@link watchAssignments}). */
  private watchLoop(signal: AbortSignal): Promise<void> {
    const retryMs = this.c.periods?.taskSyncMs ?? 1_000
    return watchAssignments(
      {
        logger: this.c.logger,
        clock: this.c.clock,
        dispatcher: this.dispatcher,
        retryMs,
        watch: (since, o) =>
          callApi(
            this.managerTarget(),
            dispatcherApi.watch,
            {
              since,
              waitMs: WATCH_WAIT_MS,
              ...(this.net?.keyVersion !== undefined ? { keys: this.net.keyVersion } : {}),
            },
            { ...o, timeoutMs: WATCH_WAIT_MS + Math.max(5_000, 5 * retryMs) },
          ),
        // a node went down or came back: heartbeat now, its answer carries the new peer list
        onMembership: () => this.heartbeats?.wake(),
        onChanged: () => this.tasks?.wake(),
      },
      signal,
    )
  }

  /** The node's overlay networks; present while the runtime runs. */
  get networks(): NetworkController {
    if (this.net === undefined) throw new Error('node runtime not started')
    return this.net
  }

  async stop(options?: { teardown?: boolean }): Promise<void> {
    this.loop.abort()
    await this.heartbeats?.done
    await this.watching
    await this.tasks?.stop()
    if (options?.teardown)
      await this.tasks
        ?.removeAll()
        .catch((err: unknown) => this.c.logger.warn('task cleanup failed', { err }))
    if (options?.teardown) await this.taskRuntime.releaseCgroups()
    this.tasks = undefined
    if (options?.teardown) await this.net?.teardown()
    else await this.net?.stop()
    this.net = undefined
    await this.discovery?.stop()
    this.discovery = undefined
    await this.gossip?.stop()
    this.gossip = undefined
    await this.c.manager?.stop()
    this.session?.destroy()
    this.session = undefined
  }

  /** Tells the manager this node leaves; best effort. */
  async leave(options?: AbortOptions): Promise<void> {
    await callApi(this.managerTarget(), managerApi.leave, {}, { ...options, timeoutMs: 5_000 })
  }

  /**
   * The manager, over this node's one session with it (kept open between calls; a new one
   * when the certificate changes).
   */
  managerTarget(): ApiTarget {
    const [host = '', port = '2377'] = this.id.managerAddr.split(':')
    const tls = {
      ca: this.id.caPem,
      cert: this.id.certPem,
      key: this.id.keyPem,
      checkServerIdentity: this.c.pki.managerIdentityCheck(this.id.clusterId, {
        isRevoked: (r) => this.revoked.has(r),
      }),
    }
    if (this.session === undefined || this.sessionCert !== this.id.certPem) {
      this.session?.destroy()
      this.session = createSessionAgent(tls)
      this.sessionCert = this.id.certPem
    }
    return { host, port: Number(port), tls, agent: this.session }
  }

  private session: HttpsAgent | undefined
  private sessionCert = ''

  private async heartbeatTick(signal: AbortSignal): Promise<void> {
    await this.beat(signal)
    if (this.c.clock.now() >= this.renewAt) {
      await this.renew(signal)
      this.renewAt = this.renewalTime()
    }
  }

  private heartbeatFailed(err: unknown): void {
    const msg = (err as Error).message
    this.heartbeat = { ok: false, at: this.c.clock.now(), error: msg }
    if (err instanceof RemoteError && err.status === 403) {
      this.c.logger.warn('removed from the cluster', { reason: msg })
      this.loop.abort()
      this.c.onRemoved(msg)
      return
    }
    this.c.logger.warn('heartbeat failed', { err })
  }

  private renewalTime(): number {
    return this.c.pki.renewalTime(
      this.c.pki.verifyNodeCertificate(this.id.certPem, { caCertPem: this.id.caPem }),
    )
  }

  private async beat(signal: AbortSignal): Promise<void> {
    this.underlayMtu = (await underlayOf(this.id.advertiseAddr, { signal }))?.mtu ?? this.underlayMtu
    if (this.capabilities === undefined) {
      this.capabilities = await nodeCapabilities(this.c.factories, this.taskRuntime, { signal })
    }
    const res = await callApi(
      this.managerTarget(),
      managerApi.heartbeat,
      {
        hostname: this.id.hostname,
        ...(this.c.periods?.taskSyncMs ? { periodMs: this.c.periods.taskSyncMs } : {}),
        advertiseAddr: this.id.advertiseAddr,
        gossipAddrs: [`/ip4/${this.id.advertiseAddr}/tcp/${this.id.gossipPort}/p2p/${this.id.peerId}`],
        ...(this.underlayMtu !== undefined ? { underlayMtu: this.underlayMtu } : {}),
        ...(this.membership !== undefined ? { membership: this.membership } : {}),
        capabilities: this.capabilities,
        resources: nodeResources(),
        portConflicts: this.net?.portConflicts ?? [],
      },
      { signal, timeoutMs: Math.max(4_000, 0.8 * (this.c.periods?.heartbeatMs ?? HEARTBEAT_PERIOD_MS)) },
    )
    this.heartbeat = { ok: true, at: this.c.clock.now() }
    for (const w of res.warnings) if (!this.warnings.includes(w)) this.c.logger.warn(w)
    this.warnings = res.warnings
    // lists come only when the membership changed since the version this node holds; it is
    // taken as held once everything that follows from it is done
    if (res.peers !== undefined && res.revoked !== undefined) {
      const revoked = new Set(res.revoked)
      const changed = revoked.size !== this.revoked.size || [...revoked].some((r) => !this.revoked.has(r))
      this.revoked = revoked
      this.peers = res.peers
      this.net?.setMembers(
        res.peers.flatMap((p) => p.addrs.flatMap((a) => /^\/ip4\/([0-9.]+)\//.exec(a)?.[1] ?? [])),
      )
      await this.net?.applyLiveness(this.id.nodeId, new Map(res.peers.map((p) => [p.nodeId, p.status])), {
        signal,
      })
      if (changed) await this.gossip?.reverify({ signal })
      this.membership = res.membership
    }
    await this.redial(signal)
  }

  /** Dials the peers the gossip mesh is not connected to. */
  private async redial(signal: AbortSignal): Promise<void> {
    if (this.gossip !== undefined)
      await redialPeers(this.gossip, this.peers, this.revoked, this.c.logger, signal)
  }

  private async renew(signal: AbortSignal): Promise<void> {
    const csr = this.c.pki.createNodeCsr({ nodeId: this.id.nodeId, peerId: this.id.peerId })
    const res = await callApi(this.managerTarget(), managerApi.renew, { csrPem: csr.csrPem }, { signal })
    this.id = { ...this.id, certPem: res.certPem, keyPem: csr.keyPem }
    await this.c.saveIdentity(this.id, { signal })
    this.c.logger.info('node certificate renewed')
  }
}
