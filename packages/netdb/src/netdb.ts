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
 * - Digest periods: one fast period (`digestIntervalMs`) after a change of our own entries, a
 *   join or a leave, then doubling while nothing changes up to `digestIdleIntervalMs`: loss
 *   happens when something is sent, so the digests that repair it come right after it; idle
 *   ones only cover partitions and lost leaves.
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
 *   within one (idle) period, any difference triggers a sync, and a node that saw a mismatch
 *   sends its own digest within one fast period, so the other direction follows at once. Silence alone withdraws nothing
 *   (`ownerExpiryMs` is off by default): a cut-off owner's entries stay until the manager
 *   declares its node Down.
 * - Left network, last delete lost: a node that leaves a network publishes an empty `full` and
 *   unsubscribes; if that (and the deletes before it) were lost, no digest of that owner would
 *   ever reach the topic again and, with silence withdrawing nothing, its entries would stay
 *   forever. So the leaver keeps publishing an empty digest (count 0 at the time of its leave)
 *   to the topic for `tombstoneTtlMs`, and a digest with count 0 is read as what it says —
 *   "no entries at time l", an empty snapshot: the receiver deletes that owner's entries at
 *   ≤ l (newer ones stay and are synced as usual). One ~200-byte message per period per left
 *   network for the TTL; a re-join stops it. (A node restarted after losing its endpoints while
 *   down does not know it left; its entries there go only when its node is withdrawn.)
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
import { type AbortOptions, InvalidInputError } from '@swarmnet/interface'
import { isIpv4 } from '@swarmnet/ipv4'
import { endpointMac, netdbNetworkId, netdbNodeId, netdbService } from '@swarmnet/wire'
import { LocalSet } from './local.js'
import { Receiver } from './receiver.js'
import { Sender } from './sender.js'
import { Core, type Joined, netdbTopic, newJoined } from './state.js'
import { defaultNetdbTuning } from './tuning.js'
import type {
  Entry,
  LocalEntry,
  Netdb,
  NetdbComponents,
  NetdbEvents,
  NetdbInit,
  NetdbStats,
} from './types.js'

export { netdbTopic }

/**
 * The public surface and the anti-entropy loop; what goes out is in `sender.ts`, what comes in
 * in `receiver.ts`, the state they share in `state.ts`.
 */
class NetdbImpl implements Netdb {
  readonly #core: Core
  readonly #sender: Sender
  readonly #receiver: Receiver
  #loop: Promise<void> | undefined

  constructor(components: NetdbComponents, init: NetdbInit) {
    if (!netdbNodeId.safeParse(init.nodeId).success)
      throw new InvalidInputError(`invalid node id: ${init.nodeId}`)
    this.#core = new Core({
      log: components.logger,
      clock: components.clock,
      pubsub: components.pubsub,
      nodeId: init.nodeId,
      tuning: { ...defaultNetdbTuning, ...init.tuning },
      random: init.random ?? Math.random,
    })
    this.#sender = new Sender(this.#core)
    this.#receiver = new Receiver(this.#core, this.#sender)
  }

  async start(options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const core = this.#core
    if (core.started) return
    core.lamport = Math.max(core.lamport, core.clock.now())
    const controller = new AbortController()
    core.controller = controller
    for (const net of core.joined.values()) this.#subscribe(net)
    await Promise.all([...core.joined.values()].map((net) => this.#sender.announce(net, options)))
    this.#loop = this.#run(controller.signal)
    core.log.debug('started', { nodeId: core.nodeId, networks: core.joined.size })
  }

  async stop(options?: AbortOptions): Promise<void> {
    const core = this.#core
    const controller = core.controller
    if (controller === undefined) return
    core.controller = undefined
    controller.abort()
    await this.#loop
    this.#loop = undefined
    for (const net of core.joined.values()) core.pubsub.unsubscribe(net.topic)
    core.joined.clear()
    core.left.clear()
    options?.signal?.throwIfAborted()
  }

  async join(networkId: string, options?: AbortOptions): Promise<void> {
    this.#checkNetwork(networkId)
    const core = this.#core
    if (core.joined.has(networkId)) return
    const net = newJoined(networkId)
    core.joined.set(networkId, net)
    core.left.delete(networkId)
    if (!core.started) return
    this.#subscribe(net)
    core.hurry?.()
    await this.#sender.announce(net, options)
  }

  async leave(networkId: string, options?: AbortOptions): Promise<void> {
    const core = this.#core
    const net = core.joined.get(networkId)
    if (net === undefined) return
    const local = core.local.get(networkId)
    const hadRemote = [...net.owners.values()].some((v) => v.liveCount > 0)
    core.joined.delete(networkId)
    core.local.delete(networkId)
    if (core.started) {
      // our entries there become deletions: an empty snapshot at a new time
      if (local !== undefined && local.version > 0) {
        const l = core.next()
        core.left.set(networkId, {
          topic: net.topic,
          l,
          until: core.clock.now() + core.tuning.tombstoneTtlMs,
        })
        core.hurry?.()
        await this.#sender.publish(net.topic, this.#sender.fullParts(networkId, [], l), options)
      }
      core.pubsub.unsubscribe(net.topic)
    }
    if (hadRemote || (local?.size ?? 0) > 0) core.changed(networkId)
  }

  async setLocal(networkId: string, entries: readonly LocalEntry[], options?: AbortOptions): Promise<void> {
    this.#checkNetwork(networkId)
    const core = this.#core
    const wanted = entries.map((e) => this.#checkEntry(e))
    const ips = new Set(wanted.map((e) => e.ip))
    if (ips.size !== wanted.length)
      throw new InvalidInputError(`duplicate endpoint IP on network ${networkId}`)
    let local = core.local.get(networkId)
    if (local === undefined) {
      local = new LocalSet()
      core.local.set(networkId, local)
    }
    const { adds, dels } = local.diff(wanted)
    if (adds.length === 0 && dels.length === 0) return
    const l = core.next()
    const stamped = local.apply(adds, dels, l)
    core.changed(networkId)
    core.hurry?.()
    const net = core.joined.get(networkId)
    if (net === undefined || !core.started) return
    await this.#sender.entries(net, stamped, dels, l, options)
  }

  entries(networkId: string): Entry[] {
    const core = this.#core
    const out: Entry[] = []
    for (const e of core.local.get(networkId)?.values() ?? []) {
      out.push({ ip: e.ip, mac: e.mac, vtep: e.vtep, node: core.nodeId, ...(e.svc ? { svc: e.svc } : {}) })
    }
    for (const [node, view] of core.joined.get(networkId)?.owners ?? []) {
      for (const e of view.live())
        out.push({ ip: e.ip, mac: e.mac, vtep: e.vtep, node, ...(e.svc ? { svc: e.svc } : {}) })
    }
    return out
  }

  networks(): string[] {
    return [...this.#core.joined.keys()]
  }

  withdrawNode(nodeId: string): void {
    const core = this.#core
    if (nodeId === core.nodeId) {
      core.log.warn('refusing to withdraw our own node')
      return
    }
    core.withdrawn.add(nodeId)
    for (const net of core.joined.values()) {
      const view = net.owners.get(nodeId)
      net.owners.delete(nodeId)
      net.assemblies.delete(nodeId)
      net.lastRequest.delete(nodeId)
      if (view !== undefined && view.liveCount > 0) core.changed(net.id)
    }
    core.log.debug('node withdrawn', { nodeId })
  }

  async restoreNode(nodeId: string, options?: AbortOptions): Promise<void> {
    const core = this.#core
    if (!core.withdrawn.delete(nodeId) || !core.started) return
    await Promise.all(
      [...core.joined.values()].map((net) => this.#sender.requestSync(net, [nodeId], false, options)),
    )
  }

  on<E extends keyof NetdbEvents>(event: E, listener: NetdbEvents[E]): () => void {
    if (event !== 'change') throw new InvalidInputError(`unknown event ${String(event)}`)
    const l = listener as (networkId: string) => void
    this.#core.listeners.add(l)
    return () => this.#core.listeners.delete(l)
  }

  stats(): NetdbStats {
    return { ...this.#core.stats }
  }

  // ---- validation ----

  #checkNetwork(networkId: string): void {
    if (!netdbNetworkId.safeParse(networkId).success)
      throw new InvalidInputError(`invalid network id: ${networkId}`)
  }

  #checkEntry(e: LocalEntry): LocalEntry {
    const mac = String(e.mac).toLowerCase()
    if (!isIpv4(e.ip)) throw new InvalidInputError(`invalid endpoint IP: ${e.ip}`)
    if (!isIpv4(e.vtep)) throw new InvalidInputError(`invalid VTEP: ${e.vtep}`)
    if (!endpointMac.safeParse(mac).success) throw new InvalidInputError(`invalid endpoint MAC: ${e.mac}`)
    if (e.svc === undefined) return { ip: e.ip, mac, vtep: e.vtep }
    const svc = netdbService.safeParse(e.svc)
    if (!svc.success) throw new InvalidInputError(`invalid service of endpoint ${e.ip}: ${svc.error.message}`)
    return { ip: e.ip, mac, vtep: e.vtep, svc: svc.data }
  }

  #subscribe(net: Joined): void {
    this.#core.pubsub.subscribe(net.topic, (data, from) => this.#receiver.receive(net.id, data, from))
  }

  // ---- anti-entropy loop ----

  /**
   * Publishes digests one fast period after a change, then at doubling periods up to the idle
   * one; `core.hurry` (a change) pulls the next one in to one fast period from now.
   */
  async #run(signal: AbortSignal): Promise<void> {
    const core = this.#core
    const { digestIntervalMs: fast, digestJitter } = core.tuning
    const slow = Math.max(fast, core.tuning.digestIdleIntervalMs)
    const jittered = (ms: number) => Math.max(1, ms * (1 + digestJitter * (2 * core.random() - 1)))
    let period = fast
    let due = core.clock.now() + jittered(period)
    // set by a change at any time, also while a tick is publishing; wakes the sleep if there is one
    let hurried = false
    let wake: AbortController | undefined
    core.hurry = () => {
      hurried = true
      wake?.abort()
    }
    while (!signal.aborted) {
      if (hurried) {
        hurried = false
        period = fast
        due = Math.min(due, core.clock.now() + jittered(fast))
      }
      wake = new AbortController()
      try {
        await core.clock.sleep(Math.max(1, due - core.clock.now()), {
          signal: AbortSignal.any([signal, wake.signal]),
        })
      } catch {
        if (signal.aborted) break
        continue
      } finally {
        wake = undefined
      }
      try {
        await this.#tick(signal)
      } catch (err) {
        if (signal.aborted) break
        core.log.error('anti-entropy tick failed', { error: String(err) })
      }
      period = Math.min(2 * period, slow)
      due = core.clock.now() + jittered(period)
    }
    core.hurry = undefined
  }

  async #tick(signal: AbortSignal): Promise<void> {
    const now = this.#core.clock.now()
    const digests: Array<Promise<void>> = []
    for (const net of this.#core.joined.values()) {
      this.#housekeep(net, now)
      digests.push(this.#sender.digest(net, { signal }))
    }
    for (const [networkId, left] of this.#core.left) {
      if (now >= left.until) this.#core.left.delete(networkId)
      else digests.push(this.#sender.leftDigest(networkId, left, { signal }))
    }
    await Promise.all(digests)
  }

  /** Purges tombstones, drops silent owners and abandoned snapshot assemblies. */
  #housekeep(net: Joined, now: number): void {
    const core = this.#core
    const { ownerExpiryMs, digestIntervalMs } = core.tuning
    for (const [owner, view] of net.owners) {
      core.stats.tombstonesPurged += view.purge(now)
      if (ownerExpiryMs > 0 && now - view.lastHeard > ownerExpiryMs) {
        net.owners.delete(owner)
        core.stats.ownersExpired++
        if (view.liveCount > 0) core.changed(net.id)
        core.log.debug('owner silent, entries dropped', { network: net.id, owner })
      }
    }
    for (const [owner, asm] of net.assemblies) {
      if (now - asm.startedAt > 10 * digestIntervalMs) net.assemblies.delete(owner)
    }
  }
}

/** Creates the endpoint database of one node. */
export function createNetdb(components: NetdbComponents, init: NetdbInit): Netdb {
  return new NetdbImpl(components, init)
}
