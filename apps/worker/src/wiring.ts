/** The one place that builds the concrete store, PKI, gossip and kernel probe for the agent. */
import { createDataplane } from '@swarmnet/dataplane'
import { createGossip, generateIdentity } from '@swarmnet/gossip'
import type { Clock, Logger } from '@swarmnet/interface'
import { createNetdb } from '@swarmnet/netdb'
import { createPki } from '@swarmnet/pki'
import { createRuntime } from '@swarmnet/runtime'
import { createStore } from '@swarmnet/store'
import type { AgentFactories } from './ports.js'

export function defaultFactories(logger: Logger, clock: Clock): AgentFactories {
  const pki = createPki({ clock })
  return {
    store: (path) => createStore({ logger: logger.child('store') }, { path }),
    pki: () => pki,
    gossip: (init) => createGossip({ logger: logger.child('gossip'), clock }, init),
    dataplane: (init) => createDataplane({ logger: logger.child('dataplane') }, init),
    netdb: (pubsub, nodeId) => createNetdb({ logger: logger.child('netdb'), clock, pubsub }, { nodeId }),
    runtime: (init) => createRuntime({ logger: logger.child('runtime'), clock }, init),
    generatePeerKey: () => generateIdentity(),
    // the dataplane's probe tries each feature for real in a throwaway namespace
    capabilities: async (options) => {
      const probe = createDataplane({ logger: logger.child('probe') }, { advertiseAddress: '127.0.0.1' })
      const { vxlan, nftables, ipvs, esp } = await probe.capabilities(options)
      return { vxlan, nftables, ipvs, esp }
    },
  }
}
