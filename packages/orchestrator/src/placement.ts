/**
 * Placement filters: what a service's tasks need of a node beyond being Ready and Active.
 * A filter names, per service, the capabilities its tasks need and why (the words a pending
 * task shows); the scheduler keeps only the nodes that have them and, when none is left, says
 * which nodes could not and why: `encrypted network NET needs ESP; nodes lab-1, lab-2 cannot`.
 * Capabilities are what nodes report (`esp`, `ipvs`, …); node constraints (issue 16) are meant
 * to join here as further requirements.
 */
import type { Node, Service } from './types.js'

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

/** The first requirement of `service` that `node` does not meet, if any. */
export function unmet(
  filter: PlacementFilter | undefined,
  service: Service,
  node: Node,
): Requirement | undefined {
  if (filter === undefined) return undefined
  const has = new Set(node.capabilities ?? [])
  return filter.requirements(service).find((r) => !has.has(r.capability))
}

/** The pending reason when every eligible node was refused: one clause per reason. */
export function refusedReason(refused: ReadonlyArray<{ node: Node; why: string }>): string {
  const byWhy = new Map<string, string[]>()
  for (const { node, why } of refused) byWhy.set(why, [...(byWhy.get(why) ?? []), node.hostname || node.id])
  return [...byWhy]
    .map(
      ([why, names]) => `${why}; ${names.length === 1 ? 'node' : 'nodes'} ${names.sort().join(', ')} cannot`,
    )
    .join('; ')
}
