/**
 * The nodes' sessions with the manager: one kept-open TLS connection per node (or a few), on
 * which its heartbeats, syncs and calls travel. The node certificate is checked when a
 * session carries its first call; later calls on it only check that the node is still a
 * member. Removing a node closes its sessions at once, so its next call opens a new one and
 * is refused by the certificate check (the certificate is revoked by then).
 */
import type { TLSSocket } from 'node:tls'
import type { RequestContext } from '@swarmnet/wire'
import { ForbiddenError } from './auth.js'
import type { NodeRecord } from './records.js'

export class Sessions {
  readonly #nodeOf = new WeakMap<TLSSocket, string>()
  readonly #ofNode = new Map<string, Set<TLSSocket>>()

  /**
   * The caller's node: `verify` checks the certificate on a session's first call; `node`
   * finds a member by id.
   */
  async caller(
    ctx: RequestContext,
    verify: () => Promise<NodeRecord>,
    node: (id: string) => NodeRecord | undefined,
  ): Promise<NodeRecord> {
    const socket = ctx.tls
    if (socket === undefined) return verify()
    const known = this.#nodeOf.get(socket)
    if (known !== undefined) {
      const n = node(known)
      if (n !== undefined) return n
      throw new ForbiddenError('node was removed from the cluster')
    }
    const n = await verify()
    if (socket.destroyed) return n
    this.#nodeOf.set(socket, n.id)
    let set = this.#ofNode.get(n.id)
    if (set === undefined) {
      set = new Set()
      this.#ofNode.set(n.id, set)
    }
    set.add(socket)
    socket.once('close', () => {
      const s = this.#ofNode.get(n.id)
      s?.delete(socket)
      if (s?.size === 0) this.#ofNode.delete(n.id)
    })
    return n
  }

  /** Closes every session of the node. */
  close(nodeId: string): void {
    for (const s of this.#ofNode.get(nodeId) ?? []) s.destroy()
    this.#ofNode.delete(nodeId)
  }

  /** Nodes with an open session. */
  get connected(): number {
    return this.#ofNode.size
  }
}
