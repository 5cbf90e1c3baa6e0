/**
 * The manager's placement filter: a service attached to an encrypted network needs nodes that
 * can encrypt (ESP and GCM usable, as each node's agent tried for real and reported). Its
 * tasks stay pending on other clusters' nodes with the reason naming them.
 */
import type { PlacementFilter, Requirement } from '@swarmnet/orchestrator'
import type { NetworkRecord } from './records.js'

/** The node capability an encrypted network needs. */
export const ESP_CAPABILITY = 'esp'

export function encryptionFilter(networks: readonly NetworkRecord[]): PlacementFilter {
  const encrypted = new Map(networks.filter((n) => n.encrypted).map((n) => [n.id, n.name]))
  return {
    requirements: (service) =>
      service.spec.networks.flatMap((id): Requirement[] => {
        const name = encrypted.get(id)
        return name === undefined
          ? []
          : [{ capability: ESP_CAPABILITY, why: `encrypted network ${name} needs ESP` }]
      }),
  }
}
