/**
 * What this node says on the endpoint gossip, per network: its endpoints' entries (a task's
 * with its service), its LB addresses, and the service-level records it owns (on the
 * manager's node: each service's VIP per network). A network stays joined while it has any of
 * them or is one every node is on (the ingress network); the others are left.
 */
import type { AbortOptions } from '@swarmnet/interface'
import type { LocalEntry, Netdb } from '@swarmnet/netdb'
import { type LocalEndpoint, localEntries } from './local-endpoint.js'

export class EntryPublisher {
  /** Service-level records this node publishes, per network. */
  private records = new Map<string, LocalEntry[]>()

  constructor(
    private readonly netdb: Netdb,
    private readonly vtep: string,
    /** A network this node is on with no endpoint of its own there, and its LB address (the ingress network). */
    private readonly always: () => { networkId: string; lb: string } | undefined,
  ) {}

  /** Publishes this node's full entry set for one network. */
  async publish(networkId: string, eps: readonly LocalEndpoint[], options?: AbortOptions): Promise<void> {
    const always = this.always()
    const lb = always?.networkId === networkId ? always.lb : undefined
    const entries = localEntries(networkId, eps, this.vtep, this.records.get(networkId) ?? [], lb)
    await this.netdb.setLocal(networkId, entries, options)
  }

  /** True while something keeps this node on the network. */
  private keeps(networkId: string, eps: readonly LocalEndpoint[]): boolean {
    return (
      this.records.has(networkId) ||
      this.always()?.networkId === networkId ||
      eps.some((e) => e.attachments.some((a) => a.network.id === networkId))
    )
  }

  /** Replaces the service-level records; networks that gain some are joined, those left with nothing are left. */
  async setRecords(
    records: ReadonlyMap<string, LocalEntry[]>,
    eps: readonly LocalEndpoint[],
    options?: AbortOptions,
  ): Promise<void> {
    const before = this.records
    this.records = new Map(records)
    for (const n of new Set([...before.keys(), ...records.keys()])) {
      if (records.has(n)) await this.netdb.join(n, options)
      if (this.keeps(n, eps)) await this.publish(n, eps, options)
      else {
        await this.netdb.setLocal(n, [], options)
        await this.netdb.leave(n, options)
      }
    }
  }

  /** Republishes the networks of removed endpoints, leaving those nothing keeps any more. */
  async unpublish(gone: readonly LocalEndpoint[], rest: readonly LocalEndpoint[], options?: AbortOptions) {
    for (const n of new Set(gone.flatMap((e) => e.attachments.map((a) => a.network.id)))) {
      await this.publish(n, rest, options)
      if (!this.keeps(n, rest)) await this.netdb.leave(n, options)
    }
  }
}
