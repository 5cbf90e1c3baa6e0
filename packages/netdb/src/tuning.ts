import type { NetdbTuning } from './types.js'

/**
 * Defaults for a LAN cluster (a handful to a few hundred nodes, sub-millisecond RTT). The fast
 * path (an `entries` message through gossipsub) does not depend on any of them; they bound how
 * long a repair takes and what it costs.
 */
export const defaultNetdbTuning: Readonly<NetdbTuning> = Object.freeze({
  // A lost message is repaired within one period (+ a round trip); every node receives one
  // ~200-byte digest per owner per period per network: 200 owners → ~40 KB/s, cheap on a LAN.
  digestIntervalMs: 1_000,
  // ±20%: nodes started together do not publish their digests in lockstep.
  digestJitter: 0.2,
  // Gossipsub does not redeliver a message it has seen (seen-TTL 120 s) and serves retransmits
  // for only a few seconds, so a stale add arriving after a minute is not a realistic case;
  // Docker keeps 30 min because its nodes re-gossip relayed events, we never relay.
  tombstoneTtlMs: 60_000,
  // Half a digest period: a request (or its answer) that got lost is retried at the next digest.
  syncBackoffMs: 500,
  // After one lost message every subscriber asks the owner at once (they all saw the same
  // digest); one snapshot answers them all.
  syncCoalesceMs: 20,
  // Off: liveness comes from the manager (an owner's entries are withdrawn when its node is
  // declared Down or leaves), never from silence — a gossip-only partition or a manager outage
  // must not withdraw a live node's endpoints. Tests and tools may still set a period.
  ownerExpiryMs: 0,
  // ~100 bytes per encoded entry: 512 → ~50 KB, well under the 256 KiB message limit.
  maxEntriesPerMessage: 512,
})
