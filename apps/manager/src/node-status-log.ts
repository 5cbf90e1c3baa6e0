/** Node status changes as the orchestrator sees them, logged once each. */
import type { Logger } from '@swarmnet/interface'
import type { Node } from '@swarmnet/orchestrator'

export class NodeStatusLog {
  /** Node status as the orchestrator last saw it. */
  private readonly lastStatus = new Map<string, Node['status']>()

  observe(nodes: readonly Node[], logger: Logger): void {
    for (const n of nodes) {
      const before = this.lastStatus.get(n.id)
      if (before !== undefined && before !== n.status) {
        if (n.status === 'down') logger.warn('node down', { node: n.id, hostname: n.hostname })
        else if (n.status === 'ready') logger.info('node ready again', { node: n.id, hostname: n.hostname })
      }
      this.lastStatus.set(n.id, n.status)
    }
    for (const id of [...this.lastStatus.keys()])
      if (!nodes.some((n) => n.id === id)) this.lastStatus.delete(id)
  }
}
