/**
 * Design note: how the endpoint database converges.
 *
 * Every node owns the entries of its local endpoints and is the only one that publishes them
 * (the gossip layer authenticates the sender; a message whose `owner` is not the sender is
 * dropped). Per overlay network there is one topic, subscribed only by nodes with an endpoint
 * there. Each owner stamps its changes with a hybrid Lamport clock, `max(last + 1, now)`, that
 * starts at `max(clock.now(), last seen)`, and a receiver applies a change to an IP only if
 * its time is strictly greater than the one it holds (live entry or tombstone), as NetworkDB does.
 *
 * Messages: `entries` (the owner's incremental adds/deletes: the fast path, one gossipsub hop
 * or a few), `full` (the owner's snapshot at time L, possibly in parts: authoritative for that
 * owner up to L, so the receiver deletes what it holds at ≤ L that is not listed), `digest`
 * (the owner's count + hash of its live entries, published every `digestIntervalMs` ± jitter)
 * and `sync-request` (asks named owners, or with `all` everyone, for a `full`).
 *
 * Why it converges without help:
 * - Lost message: the owner's next digest no longer matches the receiver's view of that owner
 *   (count/hash cover IP, MAC, VTEP and Lamport time of every live entry), so the receiver
 *   asks for a sync and the owner's `full` repairs it: within one digest period + a round trip.
 *   A lost request or snapshot is retried at the following digest (`syncBackoffMs` < period).
 * - Restart (new instance, same node id): on start and on join the owner publishes its `full`
 *   and a hello (`sync-request` with `all`), so it learns every other owner's entries and every
 *   receiver learns its new set. Its new stamps beat the old ones because the clock follows
 *   wall time; should the wall clock have gone back, receivers still hold the old times, their
 *   digest check fails, and their request carries the newest time they know for the owner
 *   (`known`): an owner asked with `known` ≥ its own version re-stamps its entries above it.
 * - Healed partition: digests keep flowing; on heal every node sees each owner's digest
 *   within one period, any difference triggers a sync. Silence alone withdraws nothing
 *   (`ownerExpiryMs` is off by default): a cut-off owner's entries stay until the manager
 *   declares its node Down.
 * - Down / removed node: the app calls `withdrawNode` (its entries go, its messages are ignored)
 *   and `restoreNode` when it is ready again (an immediate request, then digests).
 *
 * DESIGN.md describes "periodic digest exchange with a random peer per network and a full sync
 * on mismatch" (NetworkDB's push-pull). We use a variant: each owner publishes a digest of its
 * OWN entries to the network topic. Reasons: (1) our gossip layer is publish/subscribe with no
 * point-to-point request/response, and a topic message reaches all subscribers at once, so a
 * per-owner digest lets every node check its view of that owner in O(1) with no pairing;
 * (2) repair data always comes from the owner, the only authority, so there is no relaying of
 * third-party state and the owner check stays trivial (Docker's relay rules — `inSync`, zombie
 * delete suppression, residual reap time — exist because of relaying); (3) detection is one
 * period after the fault at every node instead of a random walk over peers (a random-peer
 * exchange needs O(log N) rounds to reach everyone; at Docker's 30 s push-pull that is the
 * minutes-long staleness users report). The cost is N digests per period per network at each
 * subscriber, ~200 bytes each, bounded by the subscriber count of that network.
 */
import { type AbortOptions, type Clock, InvalidInputError, type Logger } from '@swarmnet/interface'
import { isIpv4 } from '@swarmnet/ipv4'
import {
  decodeNetdb,
  encodeNetdb,
  endpointMac,
  type NetdbDigestMessage,
  type NetdbEntriesMessage,
  type NetdbFullMessage,
  type NetdbMessage,
  type NetdbSyncRequestMessage,
  type NetdbWireEntry,
  netdbNetworkId,
  netdbNodeId,
} from '@swarmnet/wire'
import { EMPTY_HASH, type Stamped } from './hash.js'
import { LocalSet } from './local.js'
import { defaultNetdbTuning } from './tuning.js'
import type {
  Entry,
  LocalEntry,
  MessageFrom,
  Netdb,
  NetdbComponents,
  NetdbEvents,
  NetdbInit,
  NetdbStats,
  NetdbTuning,
  PubSub,
} from './types.js'
import { OwnerView } from './view.js'

/** The gossip topic of an overlay network. */
export function netdbTopic(networkId: string): string {
  return `/swarmnet/net/${networkId}/1.0.0`
}

/** A snapshot being received in parts. */
interface Assembly {
  l: number
  parts: number
  got: Set<number>
  listed: Set<string>
  startedAt: number
}

/** What we hold for one joined network. */
interface Joined {
  id: string
  topic: string
  owners: Map<string, OwnerView>
  assemblies: Map<string, Assembly>
  lastRequest: Map<string, number>
  /** a snapshot of ours is scheduled; `restampAbove` is the highest `known` asked with */
  fullScheduled: boolean
  restampAbove: number
  /** owners whose snapshot we are about to ask for (digest mismatches, batched) */
  wanted: Set<string>
  requestScheduled: boolean
}

function zeroStats(): NetdbStats {
  return {
    received: 0,
    applied: 0,
    droppedMalformed: 0,
    droppedWrongOwner: 0,
    droppedWithdrawn: 0,
    staleEntries: 0,
    syncsRequested: 0,
    syncsSent: 0,
    digestsSent: 0,
    digestMismatches: 0,
    publishErrors: 0,
    restamps: 0,
    tombstonesPurged: 0,
    ownersExpired: 0,
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

class NetdbImpl implements Netdb {
  readonly #log: Logger
  readonly #clock: Clock
  readonly #pubsub: PubSub
  readonly #nodeId: string
  readonly #tuning: NetdbTuning
  readonly #random: () => number
  readonly #joined = new Map<string, Joined>()
  readonly #local = new Map<string, LocalSet>()
  readonly #withdrawn = new Set<string>()
  readonly #listeners = new Set<(networkId: string) => void>()
  readonly #pendingChanges = new Set<string>()
  #stats = zeroStats()
  #lamport = 0
  #controller: AbortController | undefined
  #loop: Promise<void> | undefined

  constructor(components: NetdbComponents, init: NetdbInit) {
    if (!netdbNodeId.safeParse(init.nodeId).success)
      throw new InvalidInputError(`invalid node id: ${init.nodeId}`)
    this.#log = components.logger
    this.#clock = components.clock
    this.#pubsub = components.pubsub
    this.#nodeId = init.nodeId
    this.#tuning = { ...defaultNetdbTuning, ...init.tuning }
    this.#random = init.random ?? Math.random
  }

  get #started(): boolean {
    return this.#controller !== undefined
  }

  async start(options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.#started) return
    this.#lamport = Math.max(this.#lamport, this.#clock.now())
    const controller = new AbortController()
    this.#controller = controller
    for (const net of this.#joined.values()) this.#subscribe(net)
    await Promise.all([...this.#joined.values()].map((net) => this.#announce(net, options)))
    this.#loop = this.#run(controller.signal)
    this.#log.debug('started', { nodeId: this.#nodeId, networks: this.#joined.size })
  }

  async stop(options?: AbortOptions): Promise<void> {
    const controller = this.#controller
    if (controller === undefined) return
    this.#controller = undefined
    controller.abort()
    await this.#loop
    this.#loop = undefined
    for (const net of this.#joined.values()) this.#pubsub.unsubscribe(net.topic)
    this.#joined.clear()
    options?.signal?.throwIfAborted()
  }

  async join(networkId: string, options?: AbortOptions): Promise<void> {
    this.#checkNetwork(networkId)
    if (this.#joined.has(networkId)) return
    const net: Joined = {
      id: networkId,
      topic: netdbTopic(networkId),
      owners: new Map(),
      assemblies: new Map(),
      lastRequest: new Map(),
      fullScheduled: false,
      restampAbove: 0,
      wanted: new Set(),
      requestScheduled: false,
    }
    this.#joined.set(networkId, net)
    if (!this.#started) return
    this.#subscribe(net)
    await this.#announce(net, options)
  }

  async leave(networkId: string, options?: AbortOptions): Promise<void> {
    const net = this.#joined.get(networkId)
    if (net === undefined) return
    const local = this.#local.get(networkId)
    const hadRemote = [...net.owners.values()].some((v) => v.liveCount > 0)
    this.#joined.delete(networkId)
    this.#local.delete(networkId)
    if (this.#started) {
      // our entries there become deletions: an empty snapshot at a new time
      if (local !== undefined && local.version > 0) {
        await this.#publish(net.topic, this.#fullParts(networkId, [], this.#next()), options)
      }
      this.#pubsub.unsubscribe(net.topic)
    }
    if (hadRemote || (local?.size ?? 0) > 0) this.#changed(networkId)
  }

  async setLocal(networkId: string, entries: readonly LocalEntry[], options?: AbortOptions): Promise<void> {
    this.#checkNetwork(networkId)
    const wanted = entries.map((e) => this.#checkEntry(e))
    const ips = new Set(wanted.map((e) => e.ip))
    if (ips.size !== wanted.length)
      throw new InvalidInputError(`duplicate endpoint IP on network ${networkId}`)
    let local = this.#local.get(networkId)
    if (local === undefined) {
      local = new LocalSet()
      this.#local.set(networkId, local)
    }
    const { adds, dels } = local.diff(wanted)
    if (adds.length === 0 && dels.length === 0) return
    const l = this.#next()
    const stamped = local.apply(adds, dels, l)
    this.#changed(networkId)
    const net = this.#joined.get(networkId)
    if (net === undefined || !this.#started) return
    const max = this.#tuning.maxEntriesPerMessage
    const items: Array<{ add: NetdbWireEntry } | { del: string }> = [
      ...stamped.map((add) => ({ add })),
      ...dels.map((del) => ({ del })),
    ]
    const messages = chunks(items, max).map(
      (part): NetdbEntriesMessage => ({
        v: 1,
        t: 'entries',
        network: networkId,
        owner: this.#nodeId,
        adds: part.flatMap((i) => ('add' in i ? [i.add] : [])),
        dels: part.flatMap((i) => ('del' in i ? [{ ip: i.del, l }] : [])),
      }),
    )
    await this.#publish(net.topic, messages, options)
  }

  entries(networkId: string): Entry[] {
    const out: Entry[] = []
    for (const e of this.#local.get(networkId)?.values() ?? []) {
      out.push({ ip: e.ip, mac: e.mac, vtep: e.vtep, node: this.#nodeId })
    }
    for (const [node, view] of this.#joined.get(networkId)?.owners ?? []) {
      for (const e of view.live()) out.push({ ip: e.ip, mac: e.mac, vtep: e.vtep, node })
    }
    return out
  }

  networks(): string[] {
    return [...this.#joined.keys()]
  }

  withdrawNode(nodeId: string): void {
    if (nodeId === this.#nodeId) {
      this.#log.warn('refusing to withdraw our own node')
      return
    }
    this.#withdrawn.add(nodeId)
    for (const net of this.#joined.values()) {
      const view = net.owners.get(nodeId)
      net.owners.delete(nodeId)
      net.assemblies.delete(nodeId)
      net.lastRequest.delete(nodeId)
      if (view !== undefined && view.liveCount > 0) this.#changed(net.id)
    }
    this.#log.debug('node withdrawn', { nodeId })
  }

  async restoreNode(nodeId: string, options?: AbortOptions): Promise<void> {
    if (!this.#withdrawn.delete(nodeId) || !this.#started) return
    await Promise.all(
      [...this.#joined.values()].map((net) => this.#requestSync(net, [nodeId], false, options)),
    )
  }

  on<E extends keyof NetdbEvents>(event: E, listener: NetdbEvents[E]): () => void {
    if (event !== 'change') throw new InvalidInputError(`unknown event ${String(event)}`)
    const l = listener as (networkId: string) => void
    this.#listeners.add(l)
    return () => this.#listeners.delete(l)
  }

  stats(): NetdbStats {
    return { ...this.#stats }
  }

  // ---- clock, validation, events ----

  #next(): number {
    this.#lamport = Math.max(this.#lamport + 1, this.#clock.now())
    return this.#lamport
  }

  #witness(l: number): void {
    if (l > this.#lamport) this.#lamport = l
  }

  #checkNetwork(networkId: string): void {
    if (!netdbNetworkId.safeParse(networkId).success)
      throw new InvalidInputError(`invalid network id: ${networkId}`)
  }

  #checkEntry(e: LocalEntry): LocalEntry {
    const mac = String(e.mac).toLowerCase()
    if (!isIpv4(e.ip)) throw new InvalidInputError(`invalid endpoint IP: ${e.ip}`)
    if (!isIpv4(e.vtep)) throw new InvalidInputError(`invalid VTEP: ${e.vtep}`)
    if (!endpointMac.safeParse(mac).success) throw new InvalidInputError(`invalid endpoint MAC: ${e.mac}`)
    return { ip: e.ip, mac, vtep: e.vtep }
  }

  #changed(networkId: string): void {
    if (this.#pendingChanges.size === 0) queueMicrotask(() => this.#flushChanges())
    this.#pendingChanges.add(networkId)
  }

  #flushChanges(): void {
    const nets = [...this.#pendingChanges]
    this.#pendingChanges.clear()
    for (const networkId of nets) {
      for (const listener of this.#listeners) {
        try {
          listener(networkId)
        } catch (err) {
          this.#log.error('change listener failed', { networkId, error: String(err) })
        }
      }
    }
  }

  // ---- publishing ----

  #subscribe(net: Joined): void {
    this.#pubsub.subscribe(net.topic, (data, from) => this.#receive(net.id, data, from))
  }

  /** On start and join: our snapshot, and a hello asking every owner for theirs. */
  async #announce(net: Joined, options?: AbortOptions): Promise<void> {
    const local = this.#local.get(net.id)
    if (local !== undefined && local.version > 0) await this.#sendFull(net, options)
    await this.#requestSync(net, [], true, options)
  }

  async #publish(topic: string, messages: readonly NetdbMessage[], options?: AbortOptions): Promise<void> {
    for (const m of messages) {
      try {
        await this.#pubsub.publish(topic, encodeNetdb(m), options)
      } catch (err) {
        options?.signal?.throwIfAborted()
        this.#stats.publishErrors++
        this.#log.warn('publish failed; anti-entropy will repair', { topic, t: m.t, error: String(err) })
      }
    }
  }

  #fullParts(networkId: string, entries: readonly Stamped[], l: number): NetdbFullMessage[] {
    const parts = entries.length === 0 ? [[]] : chunks(entries, this.#tuning.maxEntriesPerMessage)
    return parts.map((part, i) => ({
      v: 1,
      t: 'full',
      network: networkId,
      owner: this.#nodeId,
      l,
      part: i,
      parts: parts.length,
      entries: part,
    }))
  }

  async #sendFull(net: Joined, options?: AbortOptions): Promise<void> {
    let local = this.#local.get(net.id)
    if (local === undefined) {
      local = new LocalSet()
      this.#local.set(net.id, local)
    }
    if (net.restampAbove > 0 && net.restampAbove >= local.version) {
      // someone holds entries of ours at least as new as our version: an earlier incarnation's
      this.#witness(net.restampAbove)
      local.restamp(this.#next())
      this.#stats.restamps++
      this.#log.debug('re-stamped our entries above an earlier incarnation', { network: net.id })
    }
    net.restampAbove = 0
    this.#stats.syncsSent++
    await this.#publish(net.topic, this.#fullParts(net.id, local.values(), local.version), options)
  }

  #scheduleFull(net: Joined, known: number): void {
    net.restampAbove = Math.max(net.restampAbove, known)
    if (net.fullScheduled) return
    net.fullScheduled = true
    const signal = this.#controller?.signal
    void (async () => {
      try {
        if (this.#tuning.syncCoalesceMs > 0) await this.#clock.sleep(this.#tuning.syncCoalesceMs, { signal })
        else await Promise.resolve()
      } catch {
        return // stopped
      } finally {
        net.fullScheduled = false
      }
      if (this.#joined.get(net.id) !== net) return
      await this.#sendFull(net, { signal })
    })().catch((err: unknown) => this.#log.debug('snapshot not sent', { error: String(err) }))
  }

  async #requestSync(
    net: Joined,
    owners: readonly string[],
    all: boolean,
    options?: AbortOptions,
  ): Promise<void> {
    const now = this.#clock.now()
    const due = owners.filter(
      (o) => (net.lastRequest.get(o) ?? -Infinity) + this.#tuning.syncBackoffMs <= now,
    )
    if (!all && due.length === 0) return
    for (const o of due) net.lastRequest.set(o, now)
    const message: NetdbSyncRequestMessage = {
      v: 1,
      t: 'sync-request',
      network: net.id,
      all,
      owners: due.map((owner) => ({ owner, known: net.owners.get(owner)?.maxL ?? 0 })),
    }
    this.#stats.syncsRequested++
    await this.#publish(net.topic, [message], options)
  }

  // ---- anti-entropy loop ----

  async #run(signal: AbortSignal): Promise<void> {
    const { digestIntervalMs, digestJitter } = this.#tuning
    while (!signal.aborted) {
      const period = digestIntervalMs * (1 + digestJitter * (2 * this.#random() - 1))
      try {
        await this.#clock.sleep(Math.max(1, period), { signal })
      } catch {
        break
      }
      try {
        await this.#tick(signal)
      } catch (err) {
        if (signal.aborted) break
        this.#log.error('anti-entropy tick failed', { error: String(err) })
      }
    }
  }

  async #tick(signal: AbortSignal): Promise<void> {
    const now = this.#clock.now()
    const digests: Array<Promise<void>> = []
    for (const net of this.#joined.values()) {
      this.#housekeep(net, now)
      const local = this.#local.get(net.id)
      const { count, hash } = local?.digest() ?? { count: 0, hash: EMPTY_HASH }
      const digest: NetdbDigestMessage = {
        v: 1,
        t: 'digest',
        network: net.id,
        owner: this.#nodeId,
        l: local?.version ?? 0,
        count,
        hash,
      }
      this.#stats.digestsSent++
      digests.push(this.#publish(net.topic, [digest], { signal }))
    }
    await Promise.all(digests)
  }

  /** Purges tombstones, drops silent owners and abandoned snapshot assemblies. */
  #housekeep(net: Joined, now: number): void {
    const { ownerExpiryMs, digestIntervalMs } = this.#tuning
    for (const [owner, view] of net.owners) {
      this.#stats.tombstonesPurged += view.purge(now)
      if (ownerExpiryMs > 0 && now - view.lastHeard > ownerExpiryMs) {
        net.owners.delete(owner)
        this.#stats.ownersExpired++
        if (view.liveCount > 0) this.#changed(net.id)
        this.#log.debug('owner silent, entries dropped', { network: net.id, owner })
      }
    }
    for (const [owner, asm] of net.assemblies) {
      if (now - asm.startedAt > 10 * digestIntervalMs) net.assemblies.delete(owner)
    }
  }

  // ---- receiving ----

  #receive(networkId: string, data: Uint8Array, from: MessageFrom): void {
    this.#stats.received++
    let msg: NetdbMessage
    try {
      msg = decodeNetdb(data)
    } catch {
      this.#stats.droppedMalformed++
      return
    }
    if (msg.network !== networkId) {
      this.#stats.droppedMalformed++
      return
    }
    const net = this.#joined.get(networkId)
    if (net === undefined || !this.#started) return
    if (msg.t !== 'sync-request') {
      if (msg.owner !== from.nodeId) {
        this.#stats.droppedWrongOwner++
        this.#log.debug('dropped: owner is not the sender', {
          network: networkId,
          owner: msg.owner,
          from: from.nodeId,
        })
        return
      }
      if ('l' in msg) this.#witness(msg.l)
    }
    if (from.nodeId === this.#nodeId) return // an earlier incarnation's message: witnessed, nothing else
    if (this.#withdrawn.has(from.nodeId)) {
      this.#stats.droppedWithdrawn++
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
    let view = net.owners.get(owner)
    if (view === undefined) {
      view = new OwnerView(this.#clock.now())
      net.owners.set(owner, view)
    }
    view.lastHeard = this.#clock.now()
    return view
  }

  #onEntries(net: Joined, msg: NetdbEntriesMessage): void {
    const view = this.#view(net, msg.owner)
    const expiresAt = this.#clock.now() + this.#tuning.tombstoneTtlMs
    let changed = false
    for (const e of msg.adds) {
      this.#witness(e.l)
      if (view.add(e)) changed = true
      else this.#stats.staleEntries++
    }
    for (const d of msg.dels) {
      this.#witness(d.l)
      if (view.delete(d.ip, d.l, expiresAt)) changed = true
    }
    if (changed) {
      this.#stats.applied++
      this.#changed(net.id)
    }
  }

  #onFull(net: Joined, msg: NetdbFullMessage): void {
    const view = this.#view(net, msg.owner)
    let asm = net.assemblies.get(msg.owner)
    const older = asm !== undefined && msg.l < asm.l
    if (!older && (asm === undefined || asm.l !== msg.l || asm.parts !== msg.parts)) {
      asm = { l: msg.l, parts: msg.parts, got: new Set(), listed: new Set(), startedAt: this.#clock.now() }
      net.assemblies.set(msg.owner, asm)
    }
    let changed = false
    for (const e of msg.entries) if (view.add(e)) changed = true
    if (!older && asm !== undefined) {
      asm.got.add(msg.part)
      for (const e of msg.entries) asm.listed.add(e.ip)
      if (asm.got.size === asm.parts) {
        net.assemblies.delete(msg.owner)
        const expiresAt = this.#clock.now() + this.#tuning.tombstoneTtlMs
        if (view.retainOnly(asm.listed, asm.l, expiresAt)) changed = true
      }
    }
    if (changed) {
      this.#stats.applied++
      this.#changed(net.id)
    }
  }

  #onDigest(net: Joined, msg: NetdbDigestMessage): void {
    const view = net.owners.get(msg.owner)
    if (view !== undefined) view.lastHeard = this.#clock.now()
    const mine = view?.digest() ?? { count: 0, hash: EMPTY_HASH }
    if (mine.count === msg.count && mine.hash === msg.hash) return
    this.#stats.digestMismatches++
    this.#wantSync(net, msg.owner)
  }

  /**
   * Asks for an owner's snapshot after a short random delay, batched with other owners, and
   * not at all if another node asks for it first: the answer is published to the topic, so one
   * request serves every subscriber that saw the same digest (as in SRM's request suppression).
   * Without this, one lost message at N nodes costs N requests, each delivered to N nodes.
   */
  #wantSync(net: Joined, owner: string): void {
    const now = this.#clock.now()
    if ((net.lastRequest.get(owner) ?? -Infinity) + this.#tuning.syncBackoffMs > now) return
    net.wanted.add(owner)
    if (net.requestScheduled) return
    net.requestScheduled = true
    const signal = this.#controller?.signal
    const delay = this.#tuning.syncCoalesceMs * this.#random()
    void (async () => {
      try {
        if (delay > 0) await this.#clock.sleep(delay, { signal })
        else await Promise.resolve()
      } finally {
        net.requestScheduled = false
      }
      const owners = [...net.wanted]
      net.wanted.clear()
      if (this.#joined.get(net.id) !== net || owners.length === 0) return
      await this.#requestSync(net, owners, false, { signal })
    })().catch((err: unknown) => this.#log.debug('sync request not sent', { error: String(err) }))
  }

  #onSyncRequest(net: Joined, msg: NetdbSyncRequestMessage): void {
    const now = this.#clock.now()
    for (const { owner } of msg.owners) {
      // someone asked first: its answer reaches us too (retried after the backoff if lost)
      if (net.wanted.delete(owner)) net.lastRequest.set(owner, now)
    }
    const mine = msg.owners.find((o) => o.owner === this.#nodeId)
    if (mine !== undefined) {
      this.#scheduleFull(net, mine.known)
      return
    }
    // a hello: answer only if we have something to say (a newcomer's empty view matches an empty digest)
    if (msg.all && (this.#local.get(net.id)?.size ?? 0) > 0) this.#scheduleFull(net, 0)
  }
}

/** Creates the endpoint database of one node. */
export function createNetdb(components: NetdbComponents, init: NetdbInit): Netdb {
  return new NetdbImpl(components, init)
}
