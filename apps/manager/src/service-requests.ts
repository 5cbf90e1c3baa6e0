/** What the service API asks of the manager's ServiceController. */
import type {
  HealthConfig,
  Placement,
  Resources,
  RestartPolicy,
  ServicePatch,
  UpdateConfig,
} from '@swarmnet/orchestrator'
import type { PublishedPortRequest, PublishRm } from '@swarmnet/wire'

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
  /** `--publish`: ingress ports without a published port get one from 30000–32767. */
  ports?: PublishedPortRequest[] | undefined
}

/** `service update`: the patch, and `--publish-add` / `--publish-rm` (applied by the manager). */
export type ServiceUpdate = Omit<ServicePatch, 'ports'> & {
  publishAdd?: PublishedPortRequest[] | undefined
  publishRm?: PublishRm[] | undefined
}

/** A change of a service's placement and resources (`service update --constraint-add …`). */
export interface PlacementChange {
  placement?: Placement | undefined
  resources?: Resources | undefined
}
