import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'

/** Where a message came from, as authenticated by the gossip layer (certificate verified). */
export interface MessageFrom {
  nodeId: string
}

/** Receives one topic's messages; one handler per topic. */
export type PubSubHandler = (data: Uint8Array, from: MessageFrom) => void | Promise<void>

/**
 * What the netdb needs from the gossip layer. `@swarmnet/gossip`'s `Gossip` has these shapes;
 * {@link createMemoryHub} gives an in-process one for tests and benchmarks. A publisher does
 * not receive its own messages.
 */
export interface PubSub {
  subscribe(topic: string, handler: PubSubHandler): void
  unsubscribe(topic: string): void
  publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<unknown>
}

/**
 * The service an entry belongs to: a task endpoint names its service, its `aliases` (hostname,
 * task name) and, while draining, `disabled`; a service-level record (`vip`) carries the
 * service's VIP as its `ip` and is not a peer of the overlay.
 */
export interface EntryService {
  id: string
  name: string
  vip?: true
  aliases?: string[]
  disabled?: true
  /** On a service-level record of the ingress network: its ingress-mode ports, [published, target, protocol] (since 0.6). */
  ports?: Array<[number, number, 'tcp' | 'udp']>
}

/** What the owner says about one of its local endpoints. */
export interface LocalEntry {
  /** endpoint IPv4 on the overlay, without prefix */
  ip: string
  /** endpoint MAC, `02:42:xx:xx:xx:xx` */
  mac: string
  /** the owner's underlay (data-path) address */
  vtep: string
  svc?: EntryService
}

/** An endpoint of a network as every subscribed node sees it. */
export interface Entry extends LocalEntry {
  /** the owner node id */
  node: string
}

export interface NetdbTuning {
  /**
   * How soon after a change of its own entries (or a join or leave) a node publishes their digest
   * per network (± jitter); while nothing changes, the period doubles up to `digestIdleIntervalMs`.
   */
  digestIntervalMs: number
  /** The longest digest period, reached after a few unchanged periods (≥ `digestIntervalMs`). */
  digestIdleIntervalMs: number
  /** Fraction of the interval a digest period is randomly moved by (0…1). */
  digestJitter: number
  /** How long a delete is remembered to refuse stale re-adds. */
  tombstoneTtlMs: number
  /** After asking an owner for a snapshot, how long before asking it again. */
  syncBackoffMs: number
  /** Sync requests arriving within this window are answered with one snapshot. */
  syncCoalesceMs: number
  /** An owner not heard from (digest or otherwise) for this long has its entries dropped; 0 = never. */
  ownerExpiryMs: number
  /** Entries per message; larger changes and snapshots are split. */
  maxEntriesPerMessage: number
}

export interface NetdbComponents {
  logger: Logger
  clock: Clock
  pubsub: PubSub
}

export interface NetdbInit {
  /** This node's id: the owner of its local entries (what the gossip layer authenticates). */
  nodeId: string
  tuning?: Partial<NetdbTuning>
  /** Source of randomness for jitter (tests); default `Math.random`. */
  random?: () => number
}

export interface NetdbStats {
  /** messages handed to us by the gossip layer, and their bytes */
  received: number
  bytesReceived: number
  /** messages we published (every kind), and their bytes */
  sent: number
  bytesSent: number
  /** messages that changed our view */
  applied: number
  /** not a valid v1 message (size, JSON, schema) or for another network than the topic's */
  droppedMalformed: number
  /** owner field differs from the authenticated sender */
  droppedWrongOwner: number
  /** from a withdrawn node */
  droppedWithdrawn: number
  /** entries older than what we hold (stale or duplicate) */
  staleEntries: number
  /** sync requests we published, and snapshots we sent in answer */
  syncsRequested: number
  syncsSent: number
  digestsSent: number
  /** digests that differed from our view of their owner */
  digestMismatches: number
  /** publishes the gossip layer refused (anti-entropy repairs them) */
  publishErrors: number
  /** times we re-stamped our entries above an earlier incarnation's */
  restamps: number
  /** tombstones purged after their TTL */
  tombstonesPurged: number
  /** owners whose entries were dropped for silence */
  ownersExpired: number
  /** empty digests we published for networks we left (for the tombstone TTL after leaving) */
  leftDigestsSent: number
  /** owners whose entries we dropped because their digest said they hold none (a lost delete) */
  ownersEmptied: number
}

export interface NetdbEvents {
  /** the entry set of `networkId` changed (changes within one tick are coalesced) */
  change: (networkId: string) => void
}

/** The endpoint database: each node's endpoints gossiped to every node on the same overlay network. */
export interface Netdb {
  /** Starts the anti-entropy loop and publishes snapshots of joined networks. */
  start(options?: AbortOptions): Promise<void>
  /** Stops the loop and unsubscribes from every network. */
  stop(options?: AbortOptions): Promise<void>
  /** Subscribes to the network's topic, publishes our snapshot and asks every owner for theirs. */
  join(networkId: string, options?: AbortOptions): Promise<void>
  /** Publishes the deletion of our entries there, unsubscribes and forgets the network. */
  leave(networkId: string, options?: AbortOptions): Promise<void>
  /**
   * Sets the FULL set of this node's entries on a network (one per IP); adds, changes and
   * deletes against the previous set are published. May be called before `join` (then `join`
   * publishes it), which avoids announcing an empty set first.
   */
  setLocal(networkId: string, entries: readonly LocalEntry[], options?: AbortOptions): Promise<void>
  /** Local and remote live entries of a network. */
  entries(networkId: string): Entry[]
  /** Networks we joined. */
  networks(): string[]
  /** Drops every entry of `nodeId` and ignores its messages until {@link Netdb.restoreNode}. */
  withdrawNode(nodeId: string): void
  /** Accepts `nodeId` again and asks it for snapshots of our joined networks. */
  restoreNode(nodeId: string, options?: AbortOptions): Promise<void>
  on<E extends keyof NetdbEvents>(event: E, listener: NetdbEvents[E]): () => void
  stats(): NetdbStats
}
