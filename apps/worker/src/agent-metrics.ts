/**
 * Turns the agent's metrics on: prom-client loads only here, when `--metrics-addr` is given,
 * and each metric reads the node's parts through the meter at scrape time.
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { Manager } from '@swarmnet/manager'
import type { AgentMeter } from './metered.js'
import type { MetricsSources } from './metrics.js'
import { type MetricsServer, serveMetrics } from './metrics-server.js'
import type { NodeRuntime } from './node-runtime.js'

/** What the metrics see of the agent: its current runtime and, on a manager, the manager. */
export interface MeteredNode {
  runtime(): NodeRuntime | undefined
  manager(): Manager | undefined
}

export function metricsSources(meter: AgentMeter, node: MeteredNode): MetricsSources {
  // the meter keeps the parts of a runtime that stopped; only a running node's are read
  const live = <T>(part: T | undefined): T | undefined => (node.runtime() === undefined ? undefined : part)
  return {
    tasks: () => node.runtime()?.taskCounters,
    gossip: () => live(meter.gossip)?.stats(),
    netdb: () => {
      const db = live(meter.netdb)
      if (db === undefined) return undefined
      return { stats: db.stats(), entries: new Map(db.networks().map((n) => [n, db.entries(n).length])) }
    },
    kernel: () => ({ stepsApplied: meter.stepsApplied, processes: meter.processesSpawned }),
    dispatcherSessions: async () => node.manager()?.sessionCount,
  }
}

/** Serves the agent's metrics on `addr` until closed. */
export async function startAgentMetrics(
  addr: { host: string; port: number },
  meter: AgentMeter,
  node: MeteredNode,
  logger: Logger,
  options?: AbortOptions,
): Promise<MetricsServer> {
  const { createAgentMetrics } = await import('./metrics.js')
  const metrics = createAgentMetrics(metricsSources(meter, node))
  meter.onReconcile = metrics.observeReconcile
  return serveMetrics(metrics, addr, logger, options)
}
