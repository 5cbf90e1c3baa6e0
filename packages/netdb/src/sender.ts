import type { AbortOptions } from '@swarmnet/interface'
import {
  encodeNetdb,
  type NetdbDigestMessage,
  type NetdbEntriesMessage,
  type NetdbFullMessage,
  type NetdbMessage,
  type NetdbSyncRequestMessage,
  type NetdbWireEntry,
} from '@swarmnet/wire'
import { EMPTY_HASH, type Stamped } from './hash.js'
import { LocalSet } from './local.js'
import { type Core, chunks, type Joined, type Left } from './state.js'

/**
 * Everything a node publishes: its changes, snapshots, digests and sync requests, and the
 * scheduling that coalesces snapshots and suppresses duplicate requests.
 */
export class Sender {
  readonly #core: Core

  constructor(core: Core) {
    this.#core = core
  }

  /** Publishes messages one by one; a refused publish is counted and left to anti-entropy. */
  async publish(topic: string, messages: readonly NetdbMessage[], options?: AbortOptions): Promise<void> {
    const core = this.#core
    for (const m of messages) {
      try {
        const data = encodeNetdb(m)
        await core.pubsub.publish(topic, data, options)
        core.stats.sent++
        core.stats.bytesSent += data.length
      } catch (err) {
        options?.signal?.throwIfAborted()
        core.stats.publishErrors++
        core.log.warn('publish failed; anti-entropy will repair', { topic, t: m.t, error: String(err) })
      }
    }
  }

  /** Our incremental change at time `l`: the fast path. */
  async entries(
    net: Joined,
    stamped: readonly NetdbWireEntry[],
    dels: readonly string[],
    l: number,
    options?: AbortOptions,
  ): Promise<void> {
    const items: Array<{ add: NetdbWireEntry } | { del: string }> = [
      ...stamped.map((add) => ({ add })),
      ...dels.map((del) => ({ del })),
    ]
    const messages = chunks(items, this.#core.tuning.maxEntriesPerMessage).map(
      (part): NetdbEntriesMessage => ({
        v: 1,
        t: 'entries',
        network: net.id,
        owner: this.#core.nodeId,
        adds: part.flatMap((i) => ('add' in i ? [i.add] : [])),
        dels: part.flatMap((i) => ('del' in i ? [{ ip: i.del, l }] : [])),
      }),
    )
    await this.publish(net.topic, messages, options)
  }

  /** On start and join: our snapshot, and a hello asking every owner for theirs. */
  async announce(net: Joined, options?: AbortOptions): Promise<void> {
    const local = this.#core.local.get(net.id)
    if (local !== undefined && local.version > 0) await this.sendFull(net, options)
    await this.requestSync(net, [], true, options)
  }

  fullParts(networkId: string, entries: readonly Stamped[], l: number): NetdbFullMessage[] {
    const parts = entries.length === 0 ? [[]] : chunks(entries, this.#core.tuning.maxEntriesPerMessage)
    return parts.map((part, i) => ({
      v: 1,
      t: 'full',
      network: networkId,
      owner: this.#core.nodeId,
      l,
      part: i,
      parts: parts.length,
      entries: part,
    }))
  }

  async sendFull(net: Joined, options?: AbortOptions): Promise<void> {
    const core = this.#core
    let local = core.local.get(net.id)
    if (local === undefined) {
      local = new LocalSet()
      core.local.set(net.id, local)
    }
    if (net.restampAbove > 0 && net.restampAbove >= local.version) {
      // someone holds entries of ours at least as new as our version: an earlier incarnation's
      core.witness(net.restampAbove)
      local.restamp(core.next())
      core.stats.restamps++
      core.log.debug('re-stamped our entries above an earlier incarnation', { network: net.id })
    }
    net.restampAbove = 0
    core.stats.syncsSent++
    await this.publish(net.topic, this.fullParts(net.id, local.values(), local.version), options)
  }

  /** Sends our snapshot after `syncCoalesceMs`, once for every request arriving meanwhile. */
  scheduleFull(net: Joined, known: number): void {
    const core = this.#core
    net.restampAbove = Math.max(net.restampAbove, known)
    if (net.fullScheduled) return
    net.fullScheduled = true
    const signal = core.controller?.signal
    void (async () => {
      try {
        if (core.tuning.syncCoalesceMs > 0) await core.clock.sleep(core.tuning.syncCoalesceMs, { signal })
        else await Promise.resolve()
      } catch {
        return // stopped
      } finally {
        net.fullScheduled = false
      }
      if (core.joined.get(net.id) !== net) return
      await this.sendFull(net, { signal })
    })().catch((err: unknown) => core.log.debug('snapshot not sent', { error: String(err) }))
  }

  async requestSync(
    net: Joined,
    owners: readonly string[],
    all: boolean,
    options?: AbortOptions,
  ): Promise<void> {
    const core = this.#core
    const now = core.clock.now()
    const due = owners.filter((o) => (net.lastRequest.get(o) ?? -Infinity) + core.tuning.syncBackoffMs <= now)
    if (!all && due.length === 0) return
    for (const o of due) net.lastRequest.set(o, now)
    const message: NetdbSyncRequestMessage = {
      v: 1,
      t: 'sync-request',
      network: net.id,
      all,
      owners: due.map((owner) => ({ owner, known: net.owners.get(owner)?.maxL ?? 0 })),
    }
    core.stats.syncsRequested++
    await this.publish(net.topic, [message], options)
  }

  /**
   * Asks for an owner's snapshot after a short random delay, batched with other owners, and
   * not at all if another node asks for it first: the answer is published to the topic, so one
   * request serves every subscriber that saw the same digest (as in SRM's request suppression).
   * Without this, one lost message at N nodes costs N requests, each delivered to N nodes.
   */
  wantSync(net: Joined, owner: string): void {
    const core = this.#core
    const now = core.clock.now()
    if ((net.lastRequest.get(owner) ?? -Infinity) + core.tuning.syncBackoffMs > now) return
    net.wanted.add(owner)
    if (net.requestScheduled) return
    net.requestScheduled = true
    const signal = core.controller?.signal
    const delay = core.tuning.syncCoalesceMs * core.random()
    void (async () => {
      try {
        if (delay > 0) await core.clock.sleep(delay, { signal })
        else await Promise.resolve()
      } finally {
        net.requestScheduled = false
      }
      const owners = [...net.wanted]
      net.wanted.clear()
      if (core.joined.get(net.id) !== net || owners.length === 0) return
      await this.requestSync(net, owners, false, { signal })
    })().catch((err: unknown) => core.log.debug('sync request not sent', { error: String(err) }))
  }

  /** The digest of our own entries on a joined network. */
  async digest(net: Joined, options?: AbortOptions): Promise<void> {
    const core = this.#core
    const local = core.local.get(net.id)
    const { count, hash } = local?.digest() ?? { count: 0, hash: EMPTY_HASH }
    const digest: NetdbDigestMessage = {
      v: 1,
      t: 'digest',
      network: net.id,
      owner: core.nodeId,
      l: local?.version ?? 0,
      count,
      hash,
    }
    core.stats.digestsSent++
    await this.publish(net.topic, [digest], options)
  }

  /** The empty digest of a network we left, at the time we left it. */
  async leftDigest(networkId: string, left: Left, options?: AbortOptions): Promise<void> {
    const core = this.#core
    const digest: NetdbDigestMessage = {
      v: 1,
      t: 'digest',
      network: networkId,
      owner: core.nodeId,
      l: left.l,
      count: 0,
      hash: EMPTY_HASH,
    }
    core.stats.leftDigestsSent++
    await this.publish(left.topic, [digest], options)
  }
}
