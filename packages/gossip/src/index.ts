/**
 * @packageDocumentation
 * The cluster's gossip mesh: libp2p (TCP, noise, yamux) with gossipsub, where a peer is heard only
 * after it proves cluster membership over `/swarmnet/admit/1.0.0` (see `admission.ts`). libp2p
 * stays behind this surface: peer ids are strings, keys are bytes.
 *
 * @example
 * ```ts
 * import { createGossip, generateIdentity } from '@swarmnet/gossip'
 * import { systemClock } from '@swarmnet/interface'
 * const { privateKey } = await generateIdentity() // persist it; the cert binds its peer id
 * const gossip = createGossip({ logger, clock: systemClock }, {
 *   privateKey, listen: ['/ip4/0.0.0.0/tcp/7946'],
 *   admission: { credentials: () => certPem, verify: async (peerId, proof) => checkCert(peerId, proof) },
 * })
 * gossip.subscribe('/swarmnet/net-abc/1.0.0', (data, from) => apply(data, from.nodeId))
 * await gossip.start()
 * await gossip.dial('/ip4/192.0.2.10/tcp/7946')
 * await gossip.publish('/swarmnet/net-abc/1.0.0', bytes)
 * ```
 */
export { ADMIT_PROTOCOL, type Admission, MAX_PROOF_BYTES } from './admission.js'
export { AdmissionRefusedError, GossipNotStartedError } from './errors.js'
export { createGossip } from './gossip.js'
export { generateIdentity, type Identity, identityFromPrivateKey } from './identity.js'
export { type GossipTuning, lanPreset } from './preset.js'
export type {
  Gossip,
  GossipComponents,
  GossipEvents,
  GossipInit,
  GossipPeer,
  GossipStats,
  MessageOrigin,
  PublishResult,
  TopicHandler,
} from './types.js'
