/**
 * What the agent builds, as factories, so that `wiring.ts` is the only file that knows the
 * concrete packages and tests can swap any of them.
 */
import type { Gossip, GossipInit } from '@swarmnet/gossip'
import type { AbortOptions } from '@swarmnet/interface'
import type { Pki } from '@swarmnet/pki'
import type { Store } from '@swarmnet/store'
import type { InfoView } from '@swarmnet/wire'

export interface AgentFactories {
  store(path: string): Store
  pki(): Pki
  gossip(init: GossipInit): Gossip
  generatePeerKey(): Promise<{ peerId: string; privateKey: Uint8Array }>
  /** kernel capabilities for `info` */
  capabilities(options?: AbortOptions): Promise<InfoView['capabilities']>
}
