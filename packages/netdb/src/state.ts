import type { Clock, Logger } from '@swarmnet/interface'
import type { LocalSet } from './local.js'
import type { NetdbStats, NetdbTuning, PubSub } from './types.js'
import type { OwnerView } from './view.js'

/** The gossip topic of an overlay network. */
export function netdbTopic(networkId: string): string {
  return `/swarmnet/net/${networkId}/1.0.0`
}

/** A snapshot being received in parts. */
export interface Assembly {
  l: number
  parts: number
  got: Set<number>
  listed: Set<string>
  startedAt: number
}

/** What we hold for one joined network. */
export interface Joined {
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

/**
 * A network we left having published entries there: until `until` (the tombstone TTL) we keep
 * publishing an empty digest at `l`, the time of our leave, so a peer that lost our last delete
 * and our leave still drops our entries there (see the design note in `netdb.ts`).
 */
export interface Left {
  topic: string
  l: number
  until: number
}

export function newJoined(networkId: string): Joined {
  return {
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
}

export function zeroStats(): NetdbStats {
  return {
    received: 0,
    bytesReceived: 0,
    sent: 0,
    bytesSent: 0,
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
    leftDigestsSent: 0,
    ownersEmptied: 0,
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export interface CoreInit {
  log: Logger
  clock: Clock
  pubsub: PubSub
  nodeId: string
  tuning: NetdbTuning
  random: () => number
}

/**
 * The state one node's netdb shares between its parts (the public surface in `netdb.ts`, the
 * sender and the receiver). Everything runs on the event loop: no field is touched by two
 * tasks at once, but an `await` may interleave a receive between two reads, so code re-reads
 * `joined` after every await (a network may have been left meanwhile).
 */
export class Core {
  readonly log: Logger
  readonly clock: Clock
  readonly pubsub: PubSub
  readonly nodeId: string
  readonly tuning: NetdbTuning
  readonly random: () => number
  readonly joined = new Map<string, Joined>()
  readonly local = new Map<string, LocalSet>()
  readonly left = new Map<string, Left>()
  readonly withdrawn = new Set<string>()
  readonly listeners = new Set<(networkId: string) => void>()
  readonly #pendingChanges = new Set<string>()
  stats = zeroStats()
  /** The hybrid Lamport clock: `max(last + 1, now)` on our changes, raised by what we witness. */
  lamport = 0
  /** Set while started; aborted by `stop`. */
  controller: AbortController | undefined
  /** Set by the anti-entropy loop: brings the next digest to within one fast period. */
  hurry: (() => void) | undefined

  constructor(init: CoreInit) {
    this.log = init.log
    this.clock = init.clock
    this.pubsub = init.pubsub
    this.nodeId = init.nodeId
    this.tuning = init.tuning
    this.random = init.random
  }

  get started(): boolean {
    return this.controller !== undefined
  }

  next(): number {
    this.lamport = Math.max(this.lamport + 1, this.clock.now())
    return this.lamport
  }

  witness(l: number): void {
    if (l > this.lamport) this.lamport = l
  }

  /** Marks a network's entry set changed; listeners hear of it once per microtask. */
  changed(networkId: string): void {
    if (this.#pendingChanges.size === 0) queueMicrotask(() => this.#flushChanges())
    this.#pendingChanges.add(networkId)
  }

  #flushChanges(): void {
    const nets = [...this.#pendingChanges]
    this.#pendingChanges.clear()
    for (const networkId of nets) {
      for (const listener of this.listeners) {
        try {
          listener(networkId)
        } catch (err) {
          this.log.error('change listener failed', { networkId, error: String(err) })
        }
      }
    }
  }
}
