/**
 * @packageDocumentation
 * The embedded DNS resolver: answers the cluster's names from memory (through an injected
 * lookup, so the agent decides what each task may see) and forwards every other name to the
 * node's upstream resolvers, over UDP and TCP, with truncation for answers too large for UDP.
 *
 * @example
 * ```ts
 * const r = createResolver({ logger }, { host: '172.18.0.1', port: 53, lookup })
 * await r.start()
 * ```
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { Lookup } from './answer.js'
import { DnsServer, type ResolverStats } from './server.js'
import { parseUpstream, readResolvConf, type Upstream } from './upstream.js'

export type { Lookup, LookupResult } from './answer.js'
export { CLUSTER_TTL_S } from './answer.js'
export type { ResolverStats } from './server.js'
export { parseResolvConf, parseUpstream, type Upstream } from './upstream.js'

export interface ResolverComponents {
  logger: Logger
}

export interface ResolverInit {
  /** Address to listen on (UDP and TCP). */
  host: string
  /** @default 53 (0: any free port, for tests) */
  port?: number
  lookup: Lookup
  /** `IP[:PORT]` of upstream resolvers; @default the nameservers of `resolvConf` */
  upstreams?: readonly string[]
  /** @default '/etc/resolv.conf' */
  resolvConf?: string
  /** Per upstream, per query. @default 2000 */
  upstreamTimeoutMs?: number
}

export interface Resolver {
  start(options?: AbortOptions): Promise<void>
  stop(): Promise<void>
  /** The port it listens on, once started. */
  readonly port: number | undefined
  /** The upstreams it forwards to, `IP:PORT` (read from resolv.conf at start unless given). */
  upstreams(): string[]
  stats(): ResolverStats
}

/** Throws (before anything listens) when a given upstream is not `IPv4[:PORT]`. */
export function createResolver(components: ResolverComponents, init: ResolverInit): Resolver {
  const given = init.upstreams?.map(parseUpstream)
  let upstreams: readonly Upstream[] = given ?? []
  let port: number | undefined
  const server = new DnsServer({
    host: init.host,
    port: init.port ?? 53,
    lookup: init.lookup,
    // never forward to ourselves (a resolv.conf pointing at this very address)
    upstreams: () => upstreams.filter((u) => !(u.host === init.host && u.port === port)),
    upstreamTimeoutMs: init.upstreamTimeoutMs ?? 2_000,
    logger: components.logger,
  })
  return {
    async start(options) {
      if (given === undefined) upstreams = await readResolvConf(init.resolvConf, options)
      port = (await server.listen()).port
    },
    async stop() {
      await server.close()
    },
    get port() {
      return port
    },
    upstreams: () => upstreams.map((u) => `${u.host}:${u.port}`),
    stats: () => ({ ...server.stats }),
  }
}
