/** What the service API asks of the manager's ServiceController. */
import type { Placement, Resources } from '@swarmnet/orchestrator'

export interface ServiceCreate {
  name: string
  replicas?: number | undefined
  global: boolean
  networks: string[]
  env: Record<string, string>
  restartCondition: 'any' | 'on-failure' | 'none'
  argv: string[]
  endpointMode?: 'vip' | 'dnsrr' | undefined
  placement?: Placement | undefined
  resources?: Resources | undefined
}

/** A change of a service's placement and resources (`service update --constraint-add …`). */
export interface PlacementChange {
  placement?: Placement | undefined
  resources?: Resources | undefined
}
