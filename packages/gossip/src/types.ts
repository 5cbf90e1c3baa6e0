import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import type { Admission } from './admission.js'
import type { GossipTuning } from './preset.js'

/** An admitted peer. */
export interface GossipPeer {
  /** libp2p peer id */
  peerId: string
  /** The node id its proof was verified for. */
  nodeId: string
  /** The remote address of one of its connections (a multiaddr string). */
  addr: string
}

/** Who sent a message: always an admitted peer. */
export interface MessageOrigin {
  peerId: string
  nodeId: string
}

/** Receives the messages of one topic; a thrown error or rejection is logged, never propagated. */
export type TopicHandler = (data: Uint8Array, from: MessageOrigin) => void | Promise<void>

/** Events, by name, with their listener signatures. */
export interface GossipEvents {
  /** A peer proved itself; its messages are accepted from now on. */
  'peer:admitted': (peer: GossipPeer) => void
  /** An admitted peer disconnected, was revoked, or no longer verifies. */
  'peer:gone': (peer: MessageOrigin) => void
  /** A peer was refused (bad proof, no proof within the grace period) or revoked. */
  'peer:refused': (peer: { peerId: string; reason: string }) => void
}

/** Counters since start, plus current peer counts. */
export interface GossipStats {
  /** Peers admitted now. */
  admitted: number
  /** Peers connected but not (yet) proven. */
  pending: number
  /** Peers refused: proof refused, malformed, or not given within the grace period. */
  refusedPeers: number
  /** Admitted peers removed by `revoke` or `reverify`. */
  revokedPeers: number
  /** Messages rejected because their sender or their relay was not admitted (the sum of the four below). */
  droppedMessages: number
  /** … because the peer that relayed it to us is not admitted. */
  droppedUnadmittedRelay: number
  /** … because it was not signed. */
  droppedUnsigned: number
  /** … because its signer is neither admitted nor an announced member. */
  droppedUnknownSigner: number
  /** Member announcements whose proof did not verify. */
  droppedBadAnnouncement: number
  /** Messages we published (our own; relayed ones are gossipsub's) and their payload bytes. */
  messagesOut: number
  bytesOut: number
  /** Messages accepted from peers (all topics, announcements included) and their payload bytes. */
  messagesIn: number
  bytesIn: number
  /** Connections turned away by the gater because the peer is banned. */
  deniedConnections: number
}

export interface PublishResult {
  /** Peer ids the message was sent to directly. */
  recipients: string[]
}

export interface GossipComponents {
  logger: Logger
  clock: Clock
}

export interface GossipInit {
  /** Protobuf-marshalled libp2p private key (see `generateIdentity`). */
  privateKey: Uint8Array
  /** Multiaddrs to listen on, e.g. `/ip4/192.0.2.11/tcp/7946`. */
  listen: string[]
  /** Proves this node and judges others. */
  admission: Admission
  /** Multiaddrs to announce instead of the listen addresses (NAT, 0.0.0.0). */
  announce?: string[]
  /** Overrides of {@link lanPreset}. */
  tuning?: Partial<GossipTuning>
}

/** The cluster's gossip mesh. Only admitted peers are heard. */
export interface Gossip {
  /** Our libp2p peer id. */
  readonly peerId: string
  start(options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
  /** Our listen addresses with `/p2p/<peerId>`, once started. */
  addrs(): string[]
  /** Connects to a peer (e.g. the manager); resolves once both sides admitted each other. */
  dial(addr: string, options?: AbortOptions): Promise<GossipPeer>
  /** Joins a topic (before or after start); one handler per topic. */
  subscribe(topic: string, handler: TopicHandler): void
  unsubscribe(topic: string): void
  /** Publishes a signed message; resolves even when no peer is subscribed yet. */
  publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<PublishResult>
  /** Admitted peers (connected to us). */
  peers(): GossipPeer[]
  /** Every verified member we know of: admitted peers and members heard of through announcements. */
  members(): MessageOrigin[]
  /** Admitted peers we know to be subscribed to a topic. */
  subscribers(topic: string): string[]
  /**
   * Admitted peers in our gossipsub mesh for a topic: those we relay its messages to. A peer joins
   * it within a heartbeat or two of admission; a message relayed before that does not reach it
   * (anti-entropy covers that), so tests and diagnostics wait on this.
   */
  meshPeers(topic: string): string[]
  /** Removes a peer now: disconnects it and bans it from reconnecting. */
  revoke(peerId: string, options?: AbortOptions): Promise<void>
  /** Re-verifies every admitted peer's proof (after a revocation); returns the peer ids removed. */
  reverify(options?: AbortOptions): Promise<string[]>
  /** Listens to an event; returns the function that stops listening. */
  on<E extends keyof GossipEvents>(event: E, listener: GossipEvents[E]): () => void
  stats(): GossipStats
}
