/**
 * What the agent's metrics read, gathered where the agent builds its parts: the factories are
 * wrapped so that the node's current gossip, netdb and dataplane are known and each dataplane
 * reconcile is timed. No package is
 * changed for it: the counts are plain numbers here, read when metrics are scraped, and cost
 * nothing more when metrics are off.
 */
import type { Dataplane, ReconcileResult } from '@swarmnet/dataplane'
import type { Gossip } from '@swarmnet/gossip'
import type { Clock } from '@swarmnet/interface'
import type { Netdb } from '@swarmnet/netdb'
import type { AgentFactories } from './ports.js'

export type ReconcileKind = 'reconcile' | 'peers' | 'teardown'

/** One dataplane call: how long it took and whether it threw. */
export type ReconcileObserver = (seconds: number, kind: ReconcileKind, outcome: 'ok' | 'error') => void

export class AgentMeter {
  readonly #clock: Clock
  /** The parts of the node's current runtime (a rejoin makes new ones). */
  gossip: Gossip | undefined
  netdb: Netdb | undefined
  #dataplane: Dataplane | undefined
  /** Processes spawned by dataplanes of earlier runtimes. */
  #retiredSpawns = 0
  /** Plan steps applied to the kernel (objects and entries added, changed or removed). */
  stepsApplied = 0
  /** Set by the metrics when they are on. */
  onReconcile: ReconcileObserver | undefined

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Processes the node's dataplanes spawned since the agent started. */
  get processesSpawned(): number {
    return this.#retiredSpawns + (this.#dataplane?.processes ?? 0)
  }

  /** The same factories, with what they build watched. */
  wrap(f: AgentFactories): AgentFactories {
    return {
      ...f,
      gossip: (init) => {
        this.gossip = f.gossip(init)
        return this.gossip
      },
      netdb: (pubsub, nodeId) => {
        this.netdb = f.netdb(pubsub, nodeId)
        return this.netdb
      },
      dataplane: (init) => {
        this.#retiredSpawns += this.#dataplane?.processes ?? 0
        this.#dataplane = f.dataplane(init)
        return this.#meteredDataplane(this.#dataplane)
      },
    }
  }

  #meteredDataplane(dp: Dataplane): Dataplane {
    const timed = async (kind: ReconcileKind, run: () => Promise<ReconcileResult>) => {
      const t0 = this.#clock.now()
      try {
        const r = await run()
        this.stepsApplied += r.steps
        this.onReconcile?.((this.#clock.now() - t0) / 1000, kind, 'ok')
        return r
      } catch (err) {
        this.onReconcile?.((this.#clock.now() - t0) / 1000, kind, 'error')
        throw err
      }
    }
    return {
      reconcile: (desired, options) => timed('reconcile', () => dp.reconcile(desired, options)),
      setPeers: (network, peers, options) => timed('peers', () => dp.setPeers(network, peers, options)),
      updateLoadBalancer: (network, lb, options) => dp.updateLoadBalancer(network, lb, options),
      updateIngress: (ingress, lb, options) => dp.updateIngress(ingress, lb, options),
      teardown: (options) => timed('teardown', () => dp.teardown(options)),
      plan: (desired, options) => dp.plan(desired, options),
      observe: (options) => dp.observe(options),
      capabilities: (options) => dp.capabilities(options),
      lbBackend: (options) => dp.lbBackend(options),
      get processes() {
        return dp.processes
      },
      get gateway() {
        return dp.gateway
      },
    }
  }
}
