/** What the service API asks of the manager's ServiceController. */
import type { HealthConfig, Placement, Resources, RestartPolicy, UpdateConfig } from '@swarmnet/orchestrator'

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
  restart?: Partial<RestartPolicy> | undefined
  health?: (Partial<HealthConfig> & { cmd: string }) | undefined
  update?: Partial<UpdateConfig> | undefined
  rollback?: Partial<UpdateConfig> | undefined
}

/** A change of a service's placement and resources (`service update --constraint-add …`). */
export interface PlacementChange {
  placement?: Placement | undefined
  resources?: Resources | undefined
}
