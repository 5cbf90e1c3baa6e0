/**
 * Plans are data: an ordered list of idempotent steps, produced by pure planners and run
 * by the one executor. A step names its tool and the namespace it acts in; the executor
 * turns each run of consecutive steps for the same (tool, namespace) into ONE batch
 * process, so planners order steps to keep such runs long: host work first (namespaces,
 * devices that must be created on the underlay), then the work inside each namespace.
 *
 * A step may name its owners (the network or endpoint it is for, most specific first): when
 * it fails, the executor drops the rest of what those owners need and applies everything
 * else, so one broken network or sandbox does not hold back the others.
 */
import type { ObservedHost } from './observe.js'

/** Who a step is for: `network:<id>`, `endpoint:<id>` or `lb:<id>`, most specific first. */
export interface Owned {
  readonly owners?: readonly string[]
  /**
   * Consecutive batches of one group do not depend on each other and may run at the same
   * time (a namespace's neighbour and FDB entries, both needing only its vxlan device).
   */
  readonly group?: string
}

/** An `ip` command line (without `ip`), run in `netns` or in the node's own namespace. */
export interface IpStep extends Owned {
  readonly tool: 'ip'
  readonly netns?: string
  readonly args: readonly string[]
  /** Indexes of `args` that are secret (key material): never described, never logged. */
  readonly secretArgs?: readonly number[]
}

/** A `bridge` command line (without `bridge`), run in `netns` or in the node's namespace. */
export interface BridgeStep extends Owned {
  readonly tool: 'bridge'
  readonly netns?: string
  readonly args: readonly string[]
}

/** An nftables script fragment, loaded atomically with the neighbouring fragments of its namespace. */
export interface NftStep extends Owned {
  readonly tool: 'nft'
  readonly netns?: string
  readonly script: string
}

/** A sysctl of `netns` or of the node's namespace, e.g. `net.ipv4.ip_forward` = `1`. */
export interface SysctlStep extends Owned {
  readonly tool: 'sysctl'
  readonly netns?: string
  readonly key: string
  readonly value: string
}

/** One `conntrack` command line (e.g. `-D -d VIP -r BACKEND`), batched through `conntrack -R -`. */
export interface ConntrackStep extends Owned {
  readonly tool: 'conntrack'
  readonly netns: string
  readonly args: readonly string[]
}

/** One `ipvsadm` command line (e.g. `-A -f 256 -s rr`), batched through `ipvsadm -R`. */
export interface IpvsStep extends Owned {
  readonly tool: 'ipvs'
  readonly netns: string
  readonly args: readonly string[]
}

/** One line of iptables' filter table (e.g. `-N SWARMNET-FORWARD`), batched through `iptables-restore --noflush`. */
export interface IptablesStep extends Owned {
  readonly tool: 'iptables'
  readonly netns?: string
  readonly args: readonly string[]
}

export type Step = IpStep | BridgeStep | NftStep | SysctlStep | ConntrackStep | IpvsStep | IptablesStep

export interface Plan {
  readonly steps: readonly Step[]
  /** Things the planner noticed but does not act on (conflicting peer records, …). */
  readonly warnings: readonly string[]
}

export const emptyPlan: Plan = { steps: [], warnings: [] }

export const networkOwner = (id: string): string => `network:${id}`
export const endpointOwner = (id: string): string => `endpoint:${id}`
/** The service load balancer of a network. */
export const lbOwner = (networkId: string): string => `lb:${networkId}`
/** The ingress routing mesh (host table, ingress leg and table, iptables). */
export const INGRESS_OWNER = 'ingress'

/** The steps, each in `group` (see {@link Owned.group}). */
export function grouped<S extends Step>(steps: readonly S[], group: string): S[] {
  return steps.map((s) => ({ ...s, group }))
}

/** The plan's steps, each also owned by `owners` (appended after any it has). */
export function owned(plan: Plan, ...owners: string[]): Plan {
  return {
    steps: plan.steps.map((s) => ({ ...s, owners: [...(s.owners ?? []), ...owners] })),
    warnings: plan.warnings,
  }
}

export function ip(netns: string | undefined, ...args: string[]): IpStep {
  return netns === undefined ? { tool: 'ip', args } : { tool: 'ip', netns, args }
}

export function bridge(netns: string | undefined, ...args: string[]): BridgeStep {
  return netns === undefined ? { tool: 'bridge', args } : { tool: 'bridge', netns, args }
}

/** `netns` prefix of a step's description. */
const inNs = (netns: string | undefined): string => (netns === undefined ? '' : `ip netns exec ${netns} `)

/**
 * Host steps that give `ns` a usable namespace: deleted first when it exists but could not be
 * read, added when missing. True when the observation of it can be trusted (nothing to add).
 */
export function ensureNamespace(
  ns: string,
  host: ObservedHost,
  observed: { readonly broken: boolean } | undefined,
  hostSteps: Step[],
): observed is { readonly broken: false } {
  const listed = host.namespaces.includes(ns)
  if (observed?.broken === true && listed) hostSteps.push(ip(undefined, 'netns', 'del', ns))
  const usable = listed && observed !== undefined && !observed.broken
  if (!usable) hostSteps.push(ip(undefined, 'netns', 'add', ns))
  return usable
}

export function concatPlans(...plans: readonly Plan[]): Plan {
  return { steps: plans.flatMap((p) => p.steps), warnings: plans.flatMap((p) => p.warnings) }
}

/** One line per step, shell-like: for logs, `swarmnet` dry runs and test expectations. */
export function describeStep(step: Step): string {
  switch (step.tool) {
    case 'ip':
    case 'bridge': {
      const secret = new Set(step.tool === 'ip' ? (step.secretArgs ?? []) : [])
      const args = step.args.map((a, i) => (secret.has(i) ? '<secret>' : a))
      return [step.tool, ...(step.netns === undefined ? [] : ['-n', step.netns]), ...args].join(' ')
    }
    case 'nft':
      return `${inNs(step.netns)}nft -f - <<${step.script.split('\n').length} lines>>`
    case 'sysctl':
      return `${inNs(step.netns)}sysctl -w ${step.key}=${step.value}`
    case 'conntrack':
      return `${inNs(step.netns)}conntrack ${step.args.join(' ')}`
    case 'ipvs':
      return `${inNs(step.netns)}ipvsadm ${step.args.join(' ')}`
    case 'iptables':
      return `${inNs(step.netns)}iptables ${step.args.join(' ')}`
  }
}

export function describePlan(plan: Plan): string[] {
  return plan.steps.map(describeStep)
}
