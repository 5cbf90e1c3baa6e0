/**
 * @packageDocumentation
 * The node agent: one per host. Serves the local API on a unix socket; once the node is in
 * a cluster it runs the manager role (on managers), the gossip mesh with certificate
 * admission, heartbeats and certificate renewal.
 *
 * @example
 * ```ts
 * const agent = createAgent({ logger, clock: systemClock }, { dataDir: '/var/lib/swarmnet', socketPath, version })
 * await agent.start()
 * ```
 */
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { Agent as DefaultAgent } from './agent.js'
import type { AgentPeriods } from './periods.js'
import type { AgentFactories } from './ports.js'
import { defaultFactories } from './wiring.js'

export { parseMetricsAddr } from './metrics-server.js'
export { type AgentPeriods, DEFAULT_PERIODS, parsePeriods } from './periods.js'
export type { AgentFactories } from './ports.js'

export interface Agent {
  start(options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
}

export interface AgentComponents {
  logger: Logger
  clock: Clock
  /** Replace concrete parts (tests). @default the real store, PKI, gossip and probe */
  factories?: AgentFactories
}

export interface AgentInit {
  /** State directory. @default '/var/lib/swarmnet' */
  dataDir: string
  /** Local API socket. @default '/run/swarmnet/swarmnet.sock' */
  socketPath: string
  /** Task logs. @default '/var/log/swarmnet/tasks' */
  taskLogDir: string
  version: string
  /** Periods and timeouts; defaults suit real hosts, emulated ones (the VM tier) want longer. */
  periods?: Partial<AgentPeriods>
  /** `IP:PORT` to serve Prometheus metrics on (`GET /metrics`). @default off */
  metricsAddr?: string
  /** The service load balancer: `auto` picks IPVS where the kernel has it. @default 'auto' */
  lbBackend?: 'auto' | 'ipvs' | 'nftables'
  /** The resolver's upstreams `IP[:PORT]`, over what init/join recorded. @default /etc/resolv.conf */
  dnsUpstreams?: string[]
}

export function createAgent(components: AgentComponents, init: AgentInit): Agent {
  const factories = components.factories ?? defaultFactories(components.logger, components.clock)
  return new DefaultAgent({ logger: components.logger, clock: components.clock, factories }, init)
}
