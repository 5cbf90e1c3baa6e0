/** Nodes Down past a grace period lose the addresses of their tasks that are over (they may never return). */
import type { Clock } from '@swarmnet/interface'
import { isTerminal, type Node, type Task } from '@swarmnet/orchestrator'
import type { NetworkService } from './networks.js'

/** A node Down this long loses the addresses of its tasks that are over. */
export const LOST_ADDRESS_GRACE_MS = 5 * 60_000

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
