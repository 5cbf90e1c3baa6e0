/**
 * The cluster's membership as the nodes need it in their heartbeats: every peer with its
 * gossip addresses and status, and the revocation list. Built from mirrors of the nodes and
 * revoked tables (no store read per heartbeat) and versioned: a node that names the version
 * it holds gets nothing O(cluster) back, only when a node joins, leaves, changes address or
 * status, or a certificate is revoked.
 */
import { createHash } from 'node:crypto'
import type { AbortOptions } from '@swarmnet/interface'
import type { Table } from '@swarmnet/store'
import type { PeerInfo } from '@swarmnet/wire'
import { TableMirror } from './mirror.js'
import type { NodeRecord, RevokedRecord } from './records.js'

export interface MembershipView {
  readonly version: string
  readonly peers: readonly PeerInfo[]
  readonly revoked: readonly string[]
}

export class Membership {
  readonly nodes: TableMirror<NodeRecord>
  readonly revoked: TableMirror<RevokedRecord>
  #view: { key: string; view: MembershipView } | undefined

  constructor(
    nodes: Table<NodeRecord>,
    revoked: Table<RevokedRecord>,
    private readonly status: (nodeId: string) => PeerInfo['status'],
  ) {
    this.nodes = new TableMirror(nodes)
    this.revoked = new TableMirror(revoked)
  }

  async load(options?: AbortOptions): Promise<void> {
    await Promise.all([this.nodes.load(options), this.revoked.load(options)])
  }

  close(): void {
    this.nodes.close()
    this.revoked.close()
    this.#view = undefined
  }

  /** The current view; rebuilt only when a record or a node's status changed. */
  async view(options?: AbortOptions): Promise<MembershipView> {
    await this.load(options)
    const nodes = this.nodes.values()
    const statuses = nodes.map((n) => this.status(n.id))
    const key = `${this.nodes.generation}/${this.revoked.generation}/${statuses.join()}`
    if (this.#view?.key === key) return this.#view.view
    const peers = nodes.map((n, i) => ({
      nodeId: n.id,
      peerId: n.peerId,
      addrs: n.gossipAddrs,
      status: statuses[i] ?? 'unknown',
    }))
    const revoked = this.revoked.values().map((r) => r.nodeId)
    const version = createHash('sha256')
      .update(JSON.stringify([peers, revoked]))
      .digest('base64url')
      .slice(0, 16)
    const view = { version, peers, revoked }
    this.#view = { key, view }
    return view
  }
}
