/**
 * @packageDocumentation
 * The endpoint database (Docker's NetworkDB role): every node owns the entries of its local
 * endpoints `{ ip, mac, vtep, node }` and gossips them on one topic per overlay network to the
 * nodes with an endpoint there. Lamport-stamped changes, tombstones with a TTL, and
 * owner-published digests with sync on mismatch, so a lost message, a restart or a healed
 * partition converges without help (see the design note in `netdb.ts`). Depends on a
 * {@link PubSub} interface only; `@swarmnet/gossip`'s `Gossip` fits it, and
 * {@link createMemoryHub} is an in-process one with fault injection for tests and benchmarks.
 *
 * @example
 * ```ts
 * import { createNetdb } from '@swarmnet/netdb'
 * const netdb = createNetdb({ logger, clock: systemClock, pubsub: gossip }, { nodeId })
 * await netdb.start()
 * await netdb.setLocal('net1', [{ ip: '10.0.1.5', mac: '02:42:0a:00:01:05', vtep: '192.168.1.12' }])
 * await netdb.join('net1')
 * netdb.on('change', (networkId) => program(networkId, netdb.entries(networkId)))
 * ```
 */
export {
  createMemoryHub,
  type HubDelivery,
  type MemoryHub,
  type MemoryHubOptions,
  type MemoryHubStats,
  type MemoryPubSub,
} from './memory-hub.js'
export { createNetdb, netdbTopic } from './netdb.js'
export { defaultNetdbTuning } from './tuning.js'
export type {
  Entry,
  EntryService,
  LocalEntry,
  MessageFrom,
  Netdb,
  NetdbComponents,
  NetdbEvents,
  NetdbInit,
  NetdbStats,
  NetdbTuning,
  PubSub,
  PubSubHandler,
} from './types.js'
