/**
 * Service discovery on this node: the embedded DNS resolver, and on the manager's node the
 * publication of every service's VIP records on the endpoint gossip.
 *
 * Why the resolver listens on the gateway bridge's address (not Docker's 127.0.0.11 in every
 * sandbox): every task sandbox already has a leg on the gateway bridge with its own address,
 * so one UDP and one TCP socket in the agent serve every task, the source address of a query
 * names the asking sandbox (the answer depends on the networks it is attached to), and no
 * per-sandbox socket, DNAT rule or helper process is needed. The task's resolv.conf (bound in
 * its own mount namespace by the runtime) names that address. The address exists only while
 * the node has a sandbox, so the resolver binds after the first reconcile that built the
 * bridge and keeps its sockets when the bridge goes (Linux keeps a socket bound to an address
 * that is removed; it answers again once the address is back).
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import { serialQueue } from '@swarmnet/interface'
import type { Manager } from '@swarmnet/manager'
import type { LocalEntry } from '@swarmnet/netdb'
import { createResolver, type Lookup, type Resolver, type ResolverStats } from '@swarmnet/resolver'
import { addressMac } from './service-view.js'

export interface DiscoveryInit {
  /** The gateway bridge's address: where the resolver listens, what tasks ask. */
  address: string
  /** `IP[:PORT]` upstreams; @default the node's /etc/resolv.conf */
  upstreams?: readonly string[] | undefined
  lookup: Lookup
}

export class Discovery {
  private readonly logger: Logger
  private readonly resolver: Resolver
  private readonly address: string
  private listening = false
  private warned = false
  private readonly once = serialQueue()
  private unwatch: (() => void) | undefined

  constructor(logger: Logger, init: DiscoveryInit) {
    this.logger = logger
    this.address = init.address
    this.resolver = createResolver(
      { logger: logger.child('resolver') },
      {
        host: init.address,
        lookup: init.lookup,
        ...(init.upstreams !== undefined && init.upstreams.length > 0 ? { upstreams: init.upstreams } : {}),
      },
    )
  }

  /** Every task's /etc/resolv.conf. */
  get resolvConf(): string {
    return `# swarmnet: the node's resolver (cluster names, then the node's upstreams)\nnameserver ${this.address}\noptions ndots:0\n`
  }

  get stats(): ResolverStats | undefined {
    return this.listening ? this.resolver.stats() : undefined
  }

  /** For `info`: the upstreams in use and whether the resolver listens yet. */
  get info(): { upstreams: string[]; listening: boolean } {
    return { upstreams: this.resolver.upstreams(), listening: this.listening }
  }

  /** After a reconcile: binds the resolver once the gateway bridge has its address. */
  async ensureListening(options?: AbortOptions): Promise<void> {
    if (this.listening) return
    await this.once(async () => {
      if (this.listening) return
      try {
        await this.resolver.start(options)
        this.listening = true
        this.logger.info('DNS resolver listening', { address: this.address, port: this.resolver.port })
      } catch (err) {
        // EADDRNOTAVAIL until the gateway bridge exists; tried again after the next reconcile
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        if (inUse && !this.warned)
          this.logger.warn('DNS resolver cannot listen: port 53 of the gateway address is taken', {
            address: this.address,
          })
        this.warned ||= inUse
        if (!inUse) this.logger.debug('DNS resolver not listening yet', { err })
      }
    })
  }

  /**
   * On the manager's node: publishes each service's VIP per network (the service-level
   * records) through `publish`, now and whenever a service is created or removed.
   */
  async publishVips(
    manager: Manager,
    vtep: string,
    publish: (records: Map<string, LocalEntry[]>, options?: AbortOptions) => Promise<void>,
    options?: AbortOptions,
  ): Promise<void> {
    const services = await manager.services(options)
    const queue = serialQueue()
    const run = () =>
      queue(async () => {
        const byNet = new Map<string, LocalEntry[]>()
        for (const r of await services.vipRecords()) {
          const entry: LocalEntry = {
            ip: r.ip,
            mac: addressMac(r.ip),
            vtep,
            svc: {
              id: r.serviceId,
              name: r.name,
              vip: true,
              // the ingress VIP record: [published, target, protocol] of the ingress-mode ports
              ...(r.ports !== undefined && r.ports.length > 0 ? { ports: r.ports } : {}),
            },
          }
          byNet.set(r.networkId, [...(byNet.get(r.networkId) ?? []), entry])
        }
        await publish(byNet)
      }).catch((err: unknown) => this.logger.warn('publishing service records failed', { err }))
    this.unwatch = services.onServicesChanged(() => void run())
    await run()
  }

  async stop(): Promise<void> {
    this.unwatch?.()
    if (this.listening) await this.resolver.stop()
    this.listening = false
  }
}
