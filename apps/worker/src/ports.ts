/**
 * What the agent builds, as factories, so that `wiring.ts` is the only file that knows the
 * concrete packages and tests can swap any of them.
 */
import type { Dataplane, DataplaneInit } from '@swarmnet/dataplane'
import type { Gossip, GossipInit } from '@swarmnet/gossip'
import type { AbortOptions } from '@swarmnet/interface'
import type { Netdb, PubSub } from '@swarmnet/netdb'
import type { Pki } from '@swarmnet/pki'
import type { Runtime, RuntimeInit } from '@swarmnet/runtime'
import type { Store } from '@swarmnet/store'
import type { InfoView } from '@swarmnet/wire'

export interface AgentFactories {
  store(path: string): Store
  pki(): Pki
  gossip(init: GossipInit): Gossip
  dataplane(init: DataplaneInit): Dataplane
  netdb(pubsub: PubSub, nodeId: string): Netdb
  runtime(init: RuntimeInit): Runtime
  generatePeerKey(): Promise<{ peerId: string; privateKey: Uint8Array }>
  /** kernel capabilities for `info` */
  capabilities(options?: AbortOptions): Promise<InfoView['capabilities']>
}
