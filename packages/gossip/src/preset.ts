/**
 * Gossip tuning. Values are wall-clock milliseconds unless named otherwise; the gossipsub
 * defaults (libp2p, tuned for a large, lossy public network) are given for comparison.
 */
export interface GossipTuning {
  /** Gossipsub heartbeat: mesh maintenance, IHAVE gossip, score refresh. */
  heartbeatMs: number
  /** Target mesh degree and its bounds (gossipsub D, Dlo, Dhi). */
  meshDegree: number
  meshDegreeLow: number
  meshDegreeHigh: number
  /** Publish our own messages to every subscribed peer, not only to mesh peers. */
  floodPublish: boolean
  /** Heartbeats of full messages kept for IWANT replies, and how many of them are advertised. */
  messageCacheHeartbeats: number
  gossipHeartbeats: number
  /** How long a message id is remembered for de-duplication. */
  seenTtlMs: number
  /** How long a pruned peer waits before grafting again; also after an unsubscribe. */
  pruneBackoffMs: number
  unsubscribeBackoffMs: number
  /** Largest message payload we publish or accept. */
  maxMessageBytes: number
  /** How long a connected peer may take to prove itself before it is disconnected. */
  admissionGraceMs: number
  /** How long a refused or revoked peer is kept from reconnecting. */
  banMs: number
  /** How often we re-announce our proof on the members topic; a member not heard for 3× expires. */
  announceIntervalMs: number
}

/**
 * A small cluster on one LAN (a handful to ~100 nodes, sub-millisecond RTT, every node reaches
 * every other). Target: a published message reaches all peers well under 250 ms.
 */
export const lanPreset: Readonly<GossipTuning> = Object.freeze({
  // default 1000: a graft, a repair of a lost message (IHAVE/IWANT) or a freshly admitted peer's
  // first score refresh waits at most one heartbeat; 100 ms keeps that far below the 250 ms target
  // and costs nothing on a LAN (a heartbeat with nothing to do sends nothing).
  heartbeatMs: 100,
  // defaults 6/4/12: clusters up to ~12 nodes are a full mesh (one hop); larger ones stay at
  // log-ish fan-out. No reason to deviate.
  meshDegree: 6,
  meshDegreeLow: 4,
  meshDegreeHigh: 12,
  // default false (true in go-libp2p): the origin sends to every subscriber directly, so delivery
  // does not depend on the mesh having formed yet; the extra copies are cheap on a LAN.
  floodPublish: true,
  // defaults 5/3 at 1 s heartbeats = 5 s kept, 3 s advertised: kept in wall-clock terms.
  messageCacheHeartbeats: 50,
  gossipHeartbeats: 30,
  // default 120 s: longer than any realistic in-cluster propagation, so no duplicate redelivery.
  seenTtlMs: 120_000,
  // default 60 s: a peer whose GRAFT arrives a moment before we admitted it is pruned; a minute
  // out of the mesh would be absurd on a LAN, so it may retry after a second.
  pruneBackoffMs: 1_000,
  // default 10 s: networks come and go on a node; re-joining a topic should not wait 10 s.
  unsubscribeBackoffMs: 1_000,
  // gossipsub has no default cap: endpoint records are < 1 KiB; 1 MiB leaves room for full-sync
  // batches while bounding what a peer can make us buffer.
  maxMessageBytes: 1024 * 1024,
  // a proof is one round trip plus a certificate check (ms); 5 s tolerates a loaded node while
  // bounding how long an unproven peer holds a connection.
  admissionGraceMs: 5_000,
  // a refused peer's redials are turned away for a minute: long enough to stop a reconnect loop,
  // short enough that a node whose certificate was renewed gets back in without help.
  banMs: 60_000,
  // announcements also go out at once on every join, so this only repairs losses and expires the
  // departed (after 30 s); one ~2 KiB message per node per 10 s is nothing on a LAN.
  announceIntervalMs: 10_000,
})
