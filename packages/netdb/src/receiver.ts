import {
  decodeNetdb,
  type NetdbDigestMessage,
  type NetdbEntriesMessage,
  type NetdbFullMessage,
  type NetdbMessage,
  type NetdbSyncRequestMessage,
} from '@swarmnet/wire'
import { EMPTY_HASH } from './hash.js'
import type { Sender } from './sender.js'
import type { Core, Joined } from './state.js'
import type { MessageFrom } from './types.js'
import { OwnerView } from './view.js'

/**
 * Everything a node does with what it hears on a network's topic: validation (size, schema,
 * owner = authenticated sender), applying changes and snapshots by Lamport time, checking
 * digests and answering sync requests.
 */
export class Receiver {
  readonly #core: Core
  readonly #sender: Sender

  constructor(core: Core, sender: Sender) {
    this.#core = core
    this.#sender = sender
  }

  receive(networkId: string, data: Uint8Array, from: MessageFrom): void {
    const core = this.#core
    core.stats.received++
    core.stats.bytesReceived += data.length
    let msg: NetdbMessage
    try {
      msg = decodeNetdb(data)
    } catch {
      core.stats.droppedMalformed++
      return
    }
    if (msg.network !== networkId) {
      core.stats.droppedMalformed++
      return
    }
    const net = core.joined.get(networkId)
    if (net === undefined || !core.started) return
    if (msg.t !== 'sync-request') {
      if (msg.owner !== from.nodeId) {
        core.stats.droppedWrongOwner++
        core.log.debug('dropped: owner is not the sender', {
          network: networkId,
          owner: msg.owner,
          from: from.nodeId,
        })
        return
      }
      if ('l' in msg) core.witness(msg.l)
    }
    if (from.nodeId === core.nodeId) return // an earlier incarnation's message: witnessed, nothing else
    if (core.withdrawn.has(from.nodeId)) {
      core.stats.droppedWithdrawn++
      return
    }
    switch (msg.t) {
      case 'entries':
        this.#onEntries(net, msg)
        return
      case 'full':
        this.#onFull(net, msg)
        return
      case 'digest':
        this.#onDigest(net, msg)
        return
      case 'sync-request':
        this.#onSyncRequest(net, msg)
        return
    }
  }

  #view(net: Joined, owner: string): OwnerView {
    const now = this.#core.clock.now()
    let view = net.owners.get(owner)
    if (view === undefined) {
      view = new OwnerView(now)
      net.owners.set(owner, view)
    }
    view.lastHeard = now
    return view
  }

  #applied(net: Joined): void {
    this.#core.stats.applied++
    this.#core.changed(net.id)
  }

  #onEntries(net: Joined, msg: NetdbEntriesMessage): void {
    const core = this.#core
    const view = this.#view(net, msg.owner)
    const expiresAt = core.clock.now() + core.tuning.tombstoneTtlMs
    let changed = false
    for (const e of msg.adds) {
      core.witness(e.l)
      if (view.add(e)) changed = true
      else core.stats.staleEntries++
    }
    for (const d of msg.dels) {
      core.witness(d.l)
      if (view.delete(d.ip, d.l, expiresAt)) changed = true
    }
    if (changed) this.#applied(net)
  }

  #onFull(net: Joined, msg: NetdbFullMessage): void {
    const core = this.#core
    const view = this.#view(net, msg.owner)
    let asm = net.assemblies.get(msg.owner)
    const older = asm !== undefined && msg.l < asm.l
    if (!older && (asm === undefined || asm.l !== msg.l || asm.parts !== msg.parts)) {
      asm = { l: msg.l, parts: msg.parts, got: new Set(), listed: new Set(), startedAt: core.clock.now() }
      net.assemblies.set(msg.owner, asm)
    }
    let changed = false
    for (const e of msg.entries) if (view.add(e)) changed = true
    if (!older && asm !== undefined) {
      asm.got.add(msg.part)
      for (const e of msg.entries) asm.listed.add(e.ip)
      if (asm.got.size === asm.parts) {
        net.assemblies.delete(msg.owner)
        const expiresAt = core.clock.now() + core.tuning.tombstoneTtlMs
        if (view.retainOnly(asm.listed, asm.l, expiresAt)) changed = true
      }
    }
    if (changed) this.#applied(net)
  }

  #onDigest(net: Joined, msg: NetdbDigestMessage): void {
    const core = this.#core
    const view = net.owners.get(msg.owner)
    if (view !== undefined) view.lastHeard = core.clock.now()
    if (view !== undefined && msg.count === 0 && view.liveCount > 0) {
      // "none at time l" is a whole snapshot: an empty `full` at l (entries newer than l stay)
      const expiresAt = core.clock.now() + core.tuning.tombstoneTtlMs
      if (view.retainOnly(new Set(), msg.l, expiresAt)) {
        core.stats.ownersEmptied++
        core.log.debug('owner holds no entries here any more: dropped ours of it', {
          network: net.id,
          owner: msg.owner,
        })
        this.#applied(net)
      }
    }
    const mine = view?.digest() ?? { count: 0, hash: EMPTY_HASH }
    if (mine.count === msg.count && mine.hash === msg.hash) return
    core.stats.digestMismatches++
    this.#sender.wantSync(net, msg.owner)
    // a mismatch means something was lost or cut off (a healed partition): the other side
    // likely lacks news of ours too, so our digest goes out within one fast period, not an idle one
    core.hurry?.()
  }

  #onSyncRequest(net: Joined, msg: NetdbSyncRequestMessage): void {
    const core = this.#core
    const now = core.clock.now()
    for (const { owner } of msg.owners) {
      // someone asked first: its answer reaches us too (retried after the backoff if lost)
      if (net.wanted.delete(owner)) net.lastRequest.set(owner, now)
    }
    const mine = msg.owners.find((o) => o.owner === core.nodeId)
    if (mine !== undefined) {
      this.#sender.scheduleFull(net, mine.known)
      return
    }
    // a hello: answer only if we have something to say (a newcomer's empty view matches an empty digest)
    if (msg.all && (core.local.get(net.id)?.size ?? 0) > 0) this.#sender.scheduleFull(net, 0)
  }
}
