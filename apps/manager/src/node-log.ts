/** What the orchestrator loop does about nodes besides orchestrating: log status changes, free lost addresses. */
import type { Clock, Logger } from '@swarmnet/interface'
import { isTerminal, type Node, type Task } from '@swarmnet/orchestrator'
import type { NetworkService } from './networks.js'

/** A node Down this long loses the addresses of its tasks that are over (it may never return). */
export const LOST_ADDRESS_GRACE_MS = 5 * 60_000

/** Logs each node's status change once. */
export class NodeStatusLog {
  /** Node status as the orchestrator last saw it. */
  private readonly lastStatus = new Map<string, Node['status']>()

  constructor(private readonly logger: Logger) {}

  seen(nodes: readonly Node[]): void {
    for (const n of nodes) {
      const before = this.lastStatus.get(n.id)
      if (before !== undefined && before !== n.status) {
        if (n.status === 'down') this.logger.warn('node down', { node: n.id, hostname: n.hostname })
        else if (n.status === 'ready')
          this.logger.info('node ready again', { node: n.id, hostname: n.hostname })
      }
      this.lastStatus.set(n.id, n.status)
    }
    for (const id of [...this.lastStatus.keys()])
      if (!nodes.some((n) => n.id === id)) this.lastStatus.delete(id)
  }
}

/** Nodes Down past the grace period lose the addresses of their tasks that are over. */
export class LostAddresses {
  /** Down nodes whose addresses were released, with the time they went down. */
  private readonly swept = new Map<string, number>()

  constructor(
    private readonly clock: Clock,
    private readonly networks: NetworkService,
  ) {}

  async release(
    nodes: ReadonlyArray<Node & { downSince?: number }>,
    tasks: readonly Task[],
    signal: AbortSignal,
  ): Promise<void> {
    const now = this.clock.now()
    const due = nodes.filter(
      (n) =>
        n.status === 'down' &&
        n.downSince !== undefined &&
        now - n.downSince > LOST_ADDRESS_GRACE_MS &&
        this.swept.get(n.id) !== n.downSince,
    )
    if (due.length === 0) return
    const live = new Set(tasks.filter((t) => !isTerminal(t.state)).map((t) => t.id))
    for (const n of due) {
      await this.networks.releaseLost(n.id, live, { signal })
      this.swept.set(n.id, n.downSince ?? 0)
    }
  }
}
