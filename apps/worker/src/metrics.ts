/**
 * The agent's Prometheus metrics (`swarmnet agent --metrics-addr IP:PORT`). Almost everything
 * is read when scraped, from counters and `stats()` the parts already keep, so an idle agent
 * does no work for its metrics between scrapes; only the reconcile duration is observed as it
 * happens. Counters mirrored from a part start again from zero when the node leaves and joins
 * (new parts), which Prometheus reads as a counter reset.
 *
 * | metric | type | labels | from |
 * |---|---|---|---|
 * | `swarmnet_task_transitions_total` | counter | state | task agent: reported state changes |
 * | `swarmnet_reconcile_duration_seconds` | histogram | kind, outcome | each dataplane call |
 * | `swarmnet_kernel_entries_programmed_total` | counter | | plan steps applied |
 * | `swarmnet_dataplane_processes_total` | counter | | processes the dataplane spawned |
 * | `swarmnet_gossip_messages_total` | counter | direction | gossip `stats()`: all topics |
 * | `swarmnet_gossip_payload_bytes_total` | counter | direction | their payload bytes |
 * | `swarmnet_gossip_dropped_total` | counter | reason | gossip and netdb `stats()` |
 * | `swarmnet_gossip_peers` | gauge | state | gossip `stats()` |
 * | `swarmnet_dispatcher_sessions` | gauge | | nodes in session with a manager (0 on a worker) |
 * | `swarmnet_netdb_entries` | gauge | network | netdb entries per joined network |
 * | `process_*`, `nodejs_*` | | | prom-client's default metrics (RSS, CPU, heap, event loop) |
 */
import type { GossipStats } from '@swarmnet/gossip'
import type { NetdbStats } from '@swarmnet/netdb'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { ReconcileObserver } from './metered.js'
import type { TaskCounters } from './tasks.js'

/** Where each metric comes from; every reader is called at scrape time. */
export interface MetricsSources {
  /** The task agent's counters, while the node is in a cluster. */
  tasks(): TaskCounters | undefined
  gossip(): GossipStats | undefined
  netdb(): { stats: NetdbStats; entries: ReadonlyMap<string, number> } | undefined
  kernel(): { stepsApplied: number; processes: number }
  /** Nodes in session with this manager; undefined on a worker (the gauge shows 0). */
  dispatcherSessions(): Promise<number | undefined>
}

export interface AgentMetrics {
  readonly registry: Registry
  /** Feeds the reconcile histogram (hand it to the meter). */
  readonly observeReconcile: ReconcileObserver
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>
}

export interface MetricsOptions {
  /** prom-client's process and Node.js metrics. @default true */
  defaultMetrics?: boolean
}

type Sample = readonly [labels: Record<string, string>, value: number]

/** A counter whose values are copied from `read()` at each scrape. */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly Sample[],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset()
      for (const [labels, value] of read()) this.inc(labels, value)
    },
  })
}

/** Drop reasons of gossip, each from the counter of the part that drops. */
function dropped(gossip: GossipStats | undefined, netdb: NetdbStats | undefined): Sample[] {
  const out: Sample[] = []
  if (gossip !== undefined)
    out.push(
      [{ reason: 'unadmitted_relay' }, gossip.droppedUnadmittedRelay],
      [{ reason: 'unsigned' }, gossip.droppedUnsigned],
      [{ reason: 'unknown_signer' }, gossip.droppedUnknownSigner],
      [{ reason: 'bad_announcement' }, gossip.droppedBadAnnouncement],
    )
  if (netdb !== undefined)
    out.push(
      [{ reason: 'malformed' }, netdb.droppedMalformed],
      [{ reason: 'wrong_owner' }, netdb.droppedWrongOwner],
      [{ reason: 'withdrawn_owner' }, netdb.droppedWithdrawn],
      [{ reason: 'publish_refused' }, netdb.publishErrors],
    )
  return out
}

export function createAgentMetrics(src: MetricsSources, options: MetricsOptions = {}): AgentMetrics {
  const registry = new Registry()
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })

  mirroredCounter(
    registry,
    'swarmnet_task_transitions_total',
    'Task state changes as this node reported them to the manager, by the state entered.',
    ['state'],
    () => Object.entries(src.tasks()?.transitions ?? {}).map(([state, n]) => [{ state }, n ?? 0] as const),
  )
  const reconcile = new Histogram({
    name: 'swarmnet_reconcile_duration_seconds',
    help: 'Dataplane calls: observe the kernel, plan and apply (kind reconcile, peers or teardown).',
    labelNames: ['kind', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  mirroredCounter(
    registry,
    'swarmnet_kernel_entries_programmed_total',
    'Kernel objects and entries added, changed or removed (dataplane plan steps applied).',
    [],
    () => [[{}, src.kernel().stepsApplied]],
  )
  mirroredCounter(
    registry,
    'swarmnet_dataplane_processes_total',
    'Processes the dataplane spawned (ip, bridge, nft) to observe and program the kernel.',
    [],
    () => [[{}, src.kernel().processes]],
  )
  const traffic = [
    [
      'swarmnet_gossip_messages_total',
      'Gossip messages (all topics) accepted from peers and published by this node.',
      'messages',
    ],
    [
      'swarmnet_gossip_payload_bytes_total',
      'Payload bytes of those gossip messages (without gossipsub and transport overhead).',
      'bytes',
    ],
  ] as const
  for (const [name, help, unit] of traffic)
    mirroredCounter(registry, name, help, ['direction'], () => {
      const g = src.gossip()
      if (g === undefined) return []
      return [
        [{ direction: 'in' }, g[`${unit}In`]],
        [{ direction: 'out' }, g[`${unit}Out`]],
      ]
    })
  mirroredCounter(
    registry,
    'swarmnet_gossip_dropped_total',
    'Gossip messages dropped, by reason (gossip: unadmitted_relay, unsigned, unknown_signer, bad_announcement; netdb: malformed, wrong_owner, withdrawn_owner; publish_refused: ours).',
    ['reason'],
    () => dropped(src.gossip(), src.netdb()?.stats),
  )
  new Gauge({
    name: 'swarmnet_gossip_peers',
    help: 'Gossip peers connected: admitted, or pending their certificate proof.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset()
      const g = src.gossip()
      if (g === undefined) return
      this.set({ state: 'admitted' }, g.admitted)
      this.set({ state: 'pending' }, g.pending)
    },
  })
  new Gauge({
    name: 'swarmnet_dispatcher_sessions',
    help: 'Nodes in session with this manager (nodes it sees ready until sessions are long-lived); 0 on a worker.',
    registers: [registry],
    async collect() {
      this.reset()
      const n = await src.dispatcherSessions()
      if (n !== undefined) this.set(n)
    },
  })
  new Gauge({
    name: 'swarmnet_netdb_entries',
    help: 'Endpoint entries (local and remote) per overlay network this node joined.',
    labelNames: ['network'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [network, n] of src.netdb()?.entries ?? []) this.set({ network }, n)
    },
  })

  return {
    registry,
    observeReconcile: (seconds, kind, outcome) => reconcile.observe({ kind, outcome }, seconds),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  }
}
