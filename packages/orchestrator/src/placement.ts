/**
 * Placement filters: what a service's tasks need of a node beyond being Ready and Active, in
 * swarmkit's order — enough unreserved resources, the capabilities it needs, its constraints,
 * room under its max replicas per node. The first check a node fails is why it was refused;
 * when every node was refused the pending reason says so in Docker's words, one clause per
 * reason: `no suitable node (insufficient resources on 1 node; scheduling constraints not
 * satisfied on 2 nodes)`. Capabilities name the nodes that lack them: `encrypted network NET
 * needs ESP; nodes lab-1, lab-2 cannot` (the whole reason when it is the only one).
 */
import { type Constraint, satisfies } from './constraints.js'
import { portKey } from './ports.js'
import type { Node, PublishedPort, ResourceAmounts, Service } from './types.js'

/** `PORT/PROTO` of the host-mode ports among `ports`. */
export const hostPortsOf = (ports: readonly PublishedPort[] | undefined): string[] =>
  (ports ?? []).filter((p) => p.publishMode === 'host').map(portKey)

/** One thing a service's tasks need of a node. */
export interface Requirement {
  /** A capability the node must report, e.g. `esp`. */
  readonly capability: string
  /** Why, in the words of the pending reason: `encrypted network secure needs ESP`. */
  readonly why: string
}

/** What each service needs of the nodes its tasks go to. */
export interface PlacementFilter {
  requirements(service: Service): readonly Requirement[]
}

/** The capability a node reports when its agent can enforce resource limits (cgroup v1 or v2). */
export const LIMITS_CAPABILITY = 'cgroups'

const LIMITS: Requirement = {
  capability: LIMITS_CAPABILITY,
  why: 'resource limits need cgroups (memory and cpu controllers)',
}

/** The first requirement of `service` that `node` does not meet, if any. */
export function unmet(
  filter: PlacementFilter | undefined,
  service: Service,
  node: Node,
): Requirement | undefined {
  const has = new Set(node.capabilities ?? [])
  const own = service.spec.resources?.limits !== undefined ? [LIMITS] : []
  return [...own, ...(filter?.requirements(service) ?? [])].find((r) => !has.has(r.capability))
}

/** Why a node was refused: Docker's filter names, or a capability with its own words. */
export type Refusal =
  | { kind: 'resources' }
  | { kind: 'capability'; why: string }
  | { kind: 'constraints' }
  | { kind: 'max-replicas' }
  | { kind: 'host-port' }

/** What the scheduler knows of a node while it places tasks. */
export interface NodeLoad {
  /** Reserved by the live tasks on it, this round's placements included. */
  reserved: Required<ResourceAmounts>
  /** Live tasks of the service being placed. */
  ofService: number
  /** `PORT/PROTO` of the host-mode ports the live tasks on the node publish. */
  hostPorts?: ReadonlySet<string>
}

/** Reservations fit in what the node reported minus what is reserved there already. */
export function fits(node: Node, load: NodeLoad, want: ResourceAmounts | undefined): boolean {
  if (want === undefined || (want.nanoCpus === undefined && want.memoryBytes === undefined)) return true
  const cap = node.resources ?? { nanoCpus: 0, memoryBytes: 0 }
  return (
    (want.nanoCpus ?? 0) + load.reserved.nanoCpus <= cap.nanoCpus &&
    (want.memoryBytes ?? 0) + load.reserved.memoryBytes <= cap.memoryBytes
  )
}

/** Why `node` cannot take one more task of `service`, or undefined if it can. */
export function refusal(
  filter: PlacementFilter | undefined,
  service: Service,
  constraints: readonly Constraint[],
  node: Node,
  load: NodeLoad,
): Refusal | undefined {
  if (!fits(node, load, service.spec.resources?.reservations)) return { kind: 'resources' }
  const req = unmet(filter, service, node)
  if (req !== undefined) return { kind: 'capability', why: req.why }
  if (!satisfies(node, constraints)) return { kind: 'constraints' }
  const max = service.spec.placement?.maxReplicasPerNode ?? 0
  if (max > 0 && load.ofService >= max) return { kind: 'max-replicas' }
  // swarmkit's HostPortFilter: a host-mode port is one task's per node
  if (hostPortsOf(service.spec.ports).some((k) => load.hostPorts?.has(k))) return { kind: 'host-port' }
  return undefined
}

const nodes = (n: number): string => `${n} ${n === 1 ? 'node' : 'nodes'}`

/** The pending reason when every eligible node was refused: one clause per reason. */
export function refusedReason(refused: ReadonlyArray<{ node: Node; refusal: Refusal }>): string {
  const byWhy = new Map<string, string[]>()
  const counts = { resources: 0, constraints: 0, 'max-replicas': 0, 'host-port': 0 }
  for (const { node, refusal: r } of refused) {
    if (r.kind === 'capability') byWhy.set(r.why, [...(byWhy.get(r.why) ?? []), node.hostname || node.id])
    else counts[r.kind]++
  }
  const capabilities = [...byWhy].map(
    ([why, names]) => `${why}; ${names.length === 1 ? 'node' : 'nodes'} ${names.sort().join(', ')} cannot`,
  )
  const docker = [
    counts.resources > 0 ? `insufficient resources on ${nodes(counts.resources)}` : '',
    counts.constraints > 0 ? `scheduling constraints not satisfied on ${nodes(counts.constraints)}` : '',
    counts['max-replicas'] > 0 ? 'max replicas per node limit exceed' : '',
    counts['host-port'] > 0 ? `host-mode port already in use on ${nodes(counts['host-port'])}` : '',
  ].filter((c) => c !== '')
  if (docker.length === 0) return capabilities.join('; ')
  return `no suitable node (${[...docker, ...capabilities].join('; ')})`
}
