import type { NetdbTuning } from './types.js'

/**
 * Defaults for a LAN cluster (a handful to a few hundred nodes, sub-millisecond RTT). The fast
 * path (an `entries` message through gossipsub) does not depend on any of them; they bound how
 * long a repair takes and what it costs.
 */
export const defaultNetdbTuning: Readonly<NetdbTuning> = Object.freeze({
  // A lost message is repaired at the owner's first digest after it: loss happens when something
  // is sent, i.e. right after a change, so that digest comes one fast period after every change
  // (+ a round trip for the repair).
  digestIntervalMs: 1_000,
  // While nothing changes the period doubles (1, 2, 4, 8 s …) up to this. What idle digests
  // still repair is a healed partition or a lost leave, which converge within one idle period
  // (+ jitter). Cost per owner and network: each digest is ~420 bytes on the wire (JSON ~150,
  // gossipsub signature and framing, noise, yamux, TCP/IP) and travels ~2× per subscriber (flood
  // publish, then one mesh forward each): in the 3-host lab 1 s cost ~1.7 KB/s per node each
  // way; 8 s costs ~0.2 KB/s, and 200 owners ~20 KB/s at each subscriber instead of ~170.
  digestIdleIntervalMs: 8_000,
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
