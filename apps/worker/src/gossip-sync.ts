/**
 * What a change of one network's gossiped entries asks of the kernel. Entries change far
 * more often than the set of nodes (VTEPs) on a network: a task starts, drains or stops, a VIP
 * record comes or goes. While the VTEPs stay the same, only the overlay's peer entries and
 * that network's load balancer can differ, and both have scoped dataplane calls — `setPeers`
 * (one overlay namespace) and `updateLoadBalancer` (the LB fast path: only the changed
 * services' elements) — so the change costs O(what changed), where a whole reconcile observes
 * every namespace and the whole LB table. A VTEP that comes or goes also concerns the IPsec
 * SAs of encrypted networks: that takes the whole reconcile.
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { Entry, Netdb } from '@swarmnet/netdb'
import { overlayPeers } from './service-view.js'

export class GossipSync {
  /** The VTEP set each network's last whole reconcile was asked for. */
  private readonly vteps = new Map<string, string>()
  /** Networks with a scoped update queued and not yet started. */
  private readonly queued = new Set<string>()

  /** `full` when the network's VTEP set changed (or was never seen), else `scoped`. */
  classify(networkId: string, entries: readonly Entry[]): 'full' | 'scoped' {
    const key = [...new Set(overlayPeers(entries).map((p) => p.vtep))].sort().join()
    if (this.vteps.get(networkId) === key) return 'scoped'
    this.vteps.set(networkId, key)
    return 'full'
  }

  /** True when a scoped update of the network must be queued (none is waiting yet). */
  enqueue(networkId: string): boolean {
    if (this.queued.has(networkId)) return false
    this.queued.add(networkId)
    return true
  }

  /** The queued update starts: changes from now on queue another. */
  started(networkId: string): void {
    this.queued.delete(networkId)
  }
}

/**
 * Applies the manager's view of node liveness: entries owned by a node that is down or no
 * longer a member are withdrawn; they come back through anti-entropy once it is ready.
 */
export async function applyLiveness(
  netdb: Netdb,
  logger: Logger,
  networks: ReadonlySet<string>,
  self: string,
  status: ReadonlyMap<string, 'ready' | 'down' | 'unknown'>,
  options?: AbortOptions,
): Promise<void> {
  const owners = new Set([...networks].flatMap((n) => netdb.entries(n).map((e) => e.node)))
  for (const node of owners) {
    if (node === self || status.get(node) === 'ready' || status.get(node) === 'unknown') continue
    logger.info('withdrawing entries of a node that is down or gone', { node })
    netdb.withdrawNode(node)
  }
  // the netdb remembers whom it withdrew; restoring a node it did not withdraw is a no-op
  for (const [node, st] of status) if (st === 'ready') await netdb.restoreNode(node, options)
}
