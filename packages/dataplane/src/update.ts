/**
 * The fast paths of the dataplane (dataplane.ts delegates): `updateLoadBalancer` and
 * `updateIngress` send only the delta from the specs applied last without failure to the
 * new ones — desired state remembered here, not a copy of the kernel — and observe nothing.
 * When that cannot be trusted (nothing remembered, the leg or the gateway address changes,
 * or the kernel refuses a step: nft refuses the whole transaction, nothing changes) the
 * memory is forgotten and the namespace is observed and planned fully.
 *
 * Order of one ingress update, and why: the LB's and the ingress namespace's nft deltas
 * first, in ONE `nft -f` of the namespace (one transaction: a backend enters the VIP and the
 * published ports at once), and side by side with it the host table's `nft -f` (the two
 * processes run at the same time: a client that reaches a brand-new published port in the
 * millisecond before its namespace rules exist is refused by the namespace's own stack, as if
 * it had come a moment earlier — the same window the LB accepts for a new VIP); then the LB's
 * VIP addresses (`ip` batch: after the rules, as in lb.ts); then conntrack of departed
 * backends of both, in one `conntrack -R`, last (the rules no longer send new flows to them).
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { Executor } from './executor.js'
import { planIngress, planIngressDelta } from './ingress.js'
import { type LbBackend, planLoadBalancer, planLoadBalancerDelta, planLoadBalancerRemoval } from './lb.js'
import { lbNamespace, overlayNamespace } from './names.js'
import { observeHost, observeOverlay } from './observe.js'
import { observeLoadBalancer } from './observe-lb.js'
import { grouped, INGRESS_OWNER, lbOwner, networkOwner, owned, type Plan, type Step } from './plan.js'
import type { CheckedIngress, CheckedLoadBalancer, CheckedNetwork, NodeConfig } from './spec.js'

/** What an update returns (dataplane.ts `ReconcileResult`). */
export interface UpdateResult {
  readonly steps: number
  readonly processes: number
  readonly warnings: readonly string[]
  readonly failed: ReadonlyMap<string, string>
}

/** The ingress applied last, with the ingress LB and the sandboxes' gateway addresses it was planned with. */
export interface AppliedIngress {
  readonly ingress: CheckedIngress
  readonly lb: CheckedLoadBalancer
  readonly gatewayIps: ReadonlyMap<string, string>
}

export interface FastPathComponents {
  readonly exec: Executor
  readonly cfg: NodeConfig
  readonly log: Logger
  apply(what: string, plan: Plan, before: number, options?: AbortOptions): Promise<UpdateResult>
}

export class FastPath {
  readonly #c: FastPathComponents
  /** Last LB spec per network id applied without failure (nftables backend): the delta's base. */
  readonly lbs = new Map<string, CheckedLoadBalancer>()
  /** The ingress applied last without failure (nftables backend). */
  ingress: AppliedIngress | undefined
  /** The sandboxes' gateway addresses as the last reconcile assigned them (host-mode ports need them). */
  gatewayIps: ReadonlyMap<string, string> = new Map()

  constructor(components: FastPathComponents) {
    this.#c = components
  }

  /** The body of `updateLoadBalancer`, inside the network's queue. */
  async updateLoadBalancer(
    net: CheckedNetwork,
    next: CheckedLoadBalancer | undefined,
    backend: LbBackend,
    options?: AbortOptions,
  ): Promise<UpdateResult> {
    const applied = this.ingress
    if (next !== undefined && applied?.ingress.network.id === net.id)
      return this.updateIngress(net, applied.ingress, next, backend, options)
    const { exec, log } = this.#c
    const before = exec.spawns
    const prev = this.lbs.get(net.id)
    this.lbs.delete(net.id)
    const plan =
      backend === 'nftables' && prev !== undefined && next !== undefined
        ? planLoadBalancerDelta(prev, next)
        : undefined
    if (plan !== undefined && next !== undefined) {
      const { failed } = await exec.apply(plan, options)
      if (failed.size === 0) {
        this.lbs.set(net.id, next)
        return { steps: plan.steps.length, processes: exec.spawns - before, warnings: [], failed }
      }
      log.info(`lb ${net.id}: the kernel refused the delta, observing it`, { error: [...failed.values()][0] })
    }
    const result = await this.#observed(net, next, undefined, backend, before, options)
    if (next !== undefined && backend === 'nftables' && result.failed.size === 0) this.lbs.set(net.id, next)
    return result
  }

  /** The body of `updateIngress`, inside the ingress network's queue. */
  async updateIngress(
    net: CheckedNetwork,
    ingress: CheckedIngress,
    lb: CheckedLoadBalancer,
    backend: LbBackend,
    options?: AbortOptions,
  ): Promise<UpdateResult> {
    const { exec, log, cfg } = this.#c
    const before = exec.spawns
    const prevLb = this.lbs.get(net.id)
    const prev = this.ingress
    this.lbs.delete(net.id)
    this.ingress = undefined
    const next: AppliedIngress = { ingress, lb, gatewayIps: this.gatewayIps }
    const lbPlan =
      backend === 'nftables' && prevLb !== undefined ? planLoadBalancerDelta(prevLb, lb) : undefined
    const ingPlan =
      backend === 'nftables' && prev?.ingress.network.id === net.id
        ? planIngressDelta(prev, next, cfg)
        : undefined
    if (lbPlan !== undefined && ingPlan !== undefined) {
      const lbSteps = lbPlan.steps
      const owners = [INGRESS_OWNER, lbOwner(net.id), networkOwner(net.id)]
      const ing = owned({ steps: [...ingPlan.steps, ...ingPlan.conntrack], warnings: [] }, ...owners).steps
      const of = (steps: readonly Step[], f: (s: Step) => boolean) => steps.filter(f)
      // the namespace's transaction and the host table's side by side (see the module note)
      const steps = [
        ...grouped(
          [
            ...of(lbSteps, (s) => s.tool === 'nft'),
            ...of(ing, (s) => s.tool === 'nft' && s.netns !== undefined),
            ...of(ing, (s) => s.tool === 'nft' && s.netns === undefined),
          ],
          'ingress-update',
        ),
        ...of(lbSteps, (s) => s.tool === 'ip'),
        ...of(lbSteps, (s) => s.tool === 'conntrack'),
        ...of(ing, (s) => s.tool === 'conntrack'),
      ]
      for (const w of ingPlan.warnings) log.warn(w)
      const { failed } = await exec.apply({ steps, warnings: ingPlan.warnings }, options)
      if (failed.size === 0) {
        this.lbs.set(net.id, lb)
        this.ingress = next
        const processes = exec.spawns - before
        return { steps: steps.length, processes, warnings: ingPlan.warnings, failed }
      }
      log.info(`ingress ${net.id}: the kernel refused the delta, observing it`, {
        error: [...failed.values()][0],
      })
    }
    const result = await this.#observed(net, lb, ingress, backend, before, options)
    if (backend === 'nftables' && result.failed.size === 0) {
      this.lbs.set(net.id, lb)
      this.ingress = next
    }
    return result
  }

  /**
   * The LB namespace of `net` observed (with the host and the overlay side) and planned
   * fully — with the ingress mesh when `ingress` is given (the host table, the leg, the
   * namespace's table; iptables are the reconcile's).
   */
  async #observed(
    net: CheckedNetwork,
    lb: CheckedLoadBalancer | undefined,
    ingress: CheckedIngress | undefined,
    backend: LbBackend,
    before: number,
    options?: AbortOptions,
  ): Promise<UpdateResult> {
    const { exec, cfg } = this.#c
    const ns = lbNamespace(net.vni)
    const [host, seen, overlay] = await Promise.all([
      observeHost(exec, options),
      observeLoadBalancer(exec, ns, backend === 'ipvs', options, ingress !== undefined),
      observeOverlay(exec, overlayNamespace(net.vni), options),
    ])
    const what = `lb ${net.id}`
    if (lb === undefined) {
      const steps = planLoadBalancerRemoval(net.vni, host, seen.broken ? undefined : seen)
      return this.#c.apply(what, owned({ steps, warnings: [] }, lbOwner(net.id)), before, options)
    }
    if (overlay.broken) {
      const failed = new Map([[lbOwner(net.id), `network ${net.id} is not built on this node: reconcile it`]])
      return { steps: 0, processes: exec.spawns - before, warnings: [], failed }
    }
    const plan = owned(
      planLoadBalancer(lb, backend, host, seen, overlay),
      lbOwner(net.id),
      networkOwner(net.id),
    )
    if (ingress === undefined) return this.#c.apply(what, plan, before, options)
    const ing = planIngress(ingress, lb, backend, cfg, host, seen, this.gatewayIps)
    const owners = [INGRESS_OWNER, lbOwner(net.id), networkOwner(net.id)]
    const steps = [
      ...plan.steps.filter((s) => s.tool !== 'conntrack'),
      ...owned({ steps: ing.steps, warnings: [] }, ...owners).steps,
      ...plan.steps.filter((s) => s.tool === 'conntrack'),
      ...owned({ steps: ing.conntrack, warnings: [] }, ...owners).steps,
    ]
    return this.#c.apply(
      `ingress ${net.id}`,
      { steps, warnings: [...plan.warnings, ...ing.warnings] },
      before,
      options,
    )
  }
}
