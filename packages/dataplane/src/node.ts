/**
 * The node planner: desired state + one observation of the whole node → one plan.
 *
 * Order, and why:
 * 1. Gateway bridge ensured (sandbox legs are enslaved to it).
 * 2. Stale sandboxes and overlays removed (before new sandboxes take their gateway
 *    addresses): first their veths and vxlan devices, one batch per namespace, because
 *    `netns del` frees a namespace asynchronously and until then those devices (the
 *    vxlan's UDP socket lives in the host) would collide with a re-create of the same
 *    names or VNI; then all the `netns del` in one host batch.
 * 3. Overlays ensured, each with its full peer set.
 * 4. Sandboxes ensured (their veths need the overlay bridges of step 3).
 * 5. Service load balancers ensured (their legs need the overlay bridges of step 3; last,
 *    so the sandboxes, which do not need them, come first).
 * 5b. The ingress mesh (ingress.ts) after the ingress network's LB (its namespace is the
 *    ingress namespace); the conntrack cleanup of both in one batch at its end. Without
 *    ingress, whatever is left of one is removed here.
 * 6. Gateway removed when neither a sandbox nor the ingress needs it any more.
 * Stale LB namespaces go with the stale sandboxes in step 2, the same way.
 * Around all of it, for encryption (xfrm.ts, guard.ts): new SAs and policies first, then the
 * vxlan guard (which marks encrypted VNIs and admits members), and stale SAs and policies
 * last; an encrypted overlay is also owned by the guard, so it is never built without it.
 *
 * Steps 3–5 are owned by their network / endpoint / LB (`lb:<network>`; an endpoint's and
 * an LB's also by their networks): a failure there drops only what depends on it
 * (executor.ts), so a failing LB never holds back a sandbox.
 */

import { planGateway, planGatewayRemoval } from './gateway.js'
import { planGuard, planGuardRemoval } from './guard.js'
import { ingressLegRemoval, planIngress, planIngressRemoval } from './ingress.js'
import { type LbBackend, planLoadBalancer, planLoadBalancerRemoval } from './lb.js'
import { sandboxNamespace, VXLAN_CREATE_PREFIX } from './names.js'
import type { ObservedNode } from './observe.js'
import { planOverlay, planOverlayRemoval } from './overlay.js'
import {
  concatPlans,
  endpointOwner,
  INGRESS_OWNER,
  ip,
  lbOwner,
  networkOwner,
  owned,
  type Plan,
  type Step,
} from './plan.js'
import { assignGatewayIps, planSandbox } from './sandbox.js'
import type { CheckedDesired, CheckedLoadBalancer, NodeConfig } from './spec.js'
import { encryptedVteps, planXfrm } from './xfrm.js'

/** Owner of the guard table: encrypted overlays need it. */
export const GUARD_OWNER = 'guard'

export function planNode(
  desired: CheckedDesired,
  observed: ObservedNode,
  cfg: NodeConfig,
  lbBackend: LbBackend = 'nftables',
): Plan {
  const { host } = observed
  const { ingress } = desired
  const needGateway = desired.endpoints.some((e) => e.gateway) || ingress !== undefined
  const wantedSandboxes = new Set(desired.endpoints.map((e) => sandboxNamespace(e.id)))
  const wantedVnis = new Set(desired.networks.map((n) => n.vni))

  const plans: Plan[] = []
  const xfrm = planXfrm(encryptedVteps(desired.networks, cfg), desired.encryption, cfg, observed.xfrm)
  plans.push({ steps: xfrm.install, warnings: [] })
  if (desired.networks.length > 0) {
    const guard = planGuard(
      {
        dataPathPort: cfg.dataPathPort,
        members: desired.members,
        encryptedVnis: desired.networks.filter((n) => n.encrypted).map((n) => n.vni),
      },
      host.guard,
    )
    plans.push(owned(guard, GUARD_OWNER))
  }
  if (needGateway) plans.push(planGateway(cfg, host))
  const removal: Step[] = []
  const staleSandboxes = [...observed.sandboxes.values()]
    .filter((ns) => !wantedSandboxes.has(ns.netns))
    .sort((a, b) => a.netns.localeCompare(b.netns))
  for (const ns of staleSandboxes) {
    for (const l of ns.links.values())
      if (l.kind === 'veth') removal.push(ip(ns.netns, 'link', 'del', l.name))
    if (host.namespaces.includes(ns.netns)) removal.push(ip(undefined, 'netns', 'del', ns.netns))
  }
  const wantedLbs = new Set(desired.loadBalancers.map((lb) => lb.network.vni))
  if (ingress === undefined) removal.push(...ingressLegRemoval(host))
  for (const [vni, lb] of [...observed.loadBalancers].sort(([a], [b]) => a - b)) {
    if (!wantedLbs.has(vni)) removal.push(...planLoadBalancerRemoval(vni, host, lb))
  }
  for (const vni of [...observed.overlays.keys()].sort((a, b) => a - b)) {
    if (!wantedVnis.has(vni)) removal.push(...planOverlayRemoval(vni, host, observed.overlays.get(vni)).steps)
  }
  // Inside-namespace deletions first, then every host step (the `netns del`s) together.
  const inside = (s: Step): boolean => s.tool === 'ip' && s.netns !== undefined
  plans.push({ steps: [...removal.filter(inside), ...removal.filter((s) => !inside(s))], warnings: [] })
  // Transient vxlan names left in the host by an interrupted run of a network we no longer want.
  for (const link of host.links.values()) {
    const vni = link.vxlan?.id
    if (
      link.name.startsWith(VXLAN_CREATE_PREFIX) &&
      vni !== undefined &&
      !wantedVnis.has(vni) &&
      !observed.overlays.has(vni)
    ) {
      plans.push({ steps: [ip(undefined, 'link', 'del', link.name)], warnings: [] })
    }
  }
  for (const net of desired.networks) {
    const owners = net.encrypted ? [networkOwner(net.id), GUARD_OWNER] : [networkOwner(net.id)]
    plans.push(owned(planOverlay(net, cfg, host, observed.overlays.get(net.vni)), ...owners))
  }
  const gatewayIps = assignGatewayIps(desired.endpoints, cfg, observed.sandboxes, ingress?.gatewayIp)
  for (const ep of desired.endpoints) {
    const gwIp = gatewayIps.get(ep.id)
    const plan = planSandbox(
      ep,
      cfg,
      host,
      observed.sandboxes.get(sandboxNamespace(ep.id)),
      observed.overlays,
      gwIp,
    )
    const warnings =
      ep.gateway && gwIp === undefined ? [`endpoint ${ep.id}: no free gateway-bridge address`] : []
    const owners = [endpointOwner(ep.id), ...ep.attachments.map((a) => networkOwner(a.network.id))]
    plans.push(concatPlans(owned(plan, ...owners), { steps: [], warnings }))
  }
  let lbCleanup: Step[] = []
  for (const lb of desired.loadBalancers) {
    const vni = lb.network.vni
    const plan = owned(
      planLoadBalancer(lb, lbBackend, host, observed.loadBalancers.get(vni), observed.overlays.get(vni)),
      lbOwner(lb.network.id),
      networkOwner(lb.network.id),
    )
    if (lb.network.id !== ingress?.network.id) {
      plans.push(plan)
      continue
    }
    lbCleanup = plan.steps.filter((s) => s.tool === 'conntrack')
    plans.push({ steps: plan.steps.filter((s) => s.tool !== 'conntrack'), warnings: plan.warnings })
  }
  if (ingress !== undefined) {
    const lb = desired.loadBalancers.find((l) => l.network.id === ingress.network.id) as CheckedLoadBalancer
    const vni = ingress.network.vni
    const ing = planIngress(ingress, lb, lbBackend, cfg, host, observed.loadBalancers.get(vni), gatewayIps)
    const owners = [INGRESS_OWNER, lbOwner(ingress.network.id), networkOwner(ingress.network.id)]
    plans.push(
      owned({ steps: ing.steps, warnings: ing.warnings }, ...owners),
      { steps: lbCleanup, warnings: [] },
      owned({ steps: ing.conntrack, warnings: [] }, ...owners),
    )
  } else {
    plans.push({ steps: planIngressRemoval(cfg, host, observed.loadBalancers, wantedLbs), warnings: [] })
  }
  if (!needGateway) plans.push(planGatewayRemoval(cfg, host))
  if (desired.networks.length === 0) plans.push(planGuardRemoval(host.guard))
  plans.push({ steps: xfrm.prune, warnings: [] })
  return concatPlans(...plans)
}
