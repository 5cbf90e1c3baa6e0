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
  // default 1000. Nothing on the fast path waits for a heartbeat: we flood-publish our own
  // messages to every subscriber we are connected to (below), and an admitted peer's score is
  // refreshed at once (admitter.ts). What does wait: a graft into the mesh (only relaying to peers
  // we are not connected to needs it) and IHAVE/IWANT repair (the netdb repairs by itself). Was
  // 100 ms; at 500 a relay waits ≤ 0.5 s and the heartbeat's own work (mesh upkeep, score
  // decay, IHAVE) runs 2×/s instead of 10×/s on every idle node.
  heartbeatMs: 500,
  // defaults 6/4/12: clusters up to ~12 nodes are a full mesh (one hop); larger ones stay at
  // log-ish fan-out. No reason to deviate.
  meshDegree: 6,
  meshDegreeLow: 4,
  meshDegreeHigh: 12,
  // default false (true in go-libp2p): the origin sends to every subscriber directly, so delivery
  // does not depend on the mesh having formed yet; the extra copies are cheap on a LAN.
  floodPublish: true,
  // defaults 5/3 (heartbeats). IHAVE goes each heartbeat to up to 6 peers outside the mesh (there
  // are some once a topic has more than D=6..12 subscribers) listing every message id of the last
  // `gossipHeartbeats`, so an id is advertised about gossipHeartbeats × 6 times. It was 30 × 100 ms
  // (3 s): at 20 nodes with 20 digests/s that was an estimated ~150 KB/s of IHAVE per node. With
  // flood publish every subscriber already got the message from its origin, so 3 × 500 ms (1.5 s)
  // of advertising is enough; messages are kept 10 × 500 ms = 5 s for IWANT answers, as before.
  messageCacheHeartbeats: 10,
  gossipHeartbeats: 3,
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
  // announcements also go out at once on every admission and on hearing of a new member, so the
  // period only repairs a lost one and bounds how long a departed member stays known (3 periods;
  // a revoked one is dropped at once by reverify). Each is a ~2 KiB certificate that travels ~2×
  // per subscriber (flood publish + one mesh forward): at 10 s that was ~0.8 KB/s per node each
  // way in the 3-host lab, half the idle gossip; at 60 s it is ~0.15 KB/s (members expire after 3 min).
  announceIntervalMs: 60_000,
})
