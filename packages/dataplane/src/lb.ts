/**
 * Planner for the service load balancer of one network on this node (Docker's `lb_<net>`
 * sandbox): namespace `sn-lb-<vni>` with one veth leg, `eth0` inside and `lb-<vni>`
 * enslaved to the overlay's `br0`, carrying the LB address (network prefix) and every VIP
 * of the network as /32. Only this namespace answers ARP for a VIP: the vxlan has no
 * neighbour for it and floods nothing. The balancing itself is one of two backends
 * (lb-nft.ts, lb-ipvs.ts).
 *
 * Order, and why:
 * 1. Deletions of a wrong leg (overlay side, then LB side): a veth pair dies as a whole.
 * 2. Host batch: `netns add` (the node plan puts this after the overlay is ensured).
 * 3. The nft rules BEFORE the addresses: a new VIP then balances from its first packet
 *    instead of being answered by the LB's own stack.
 * 4. LB namespace batch: `eth0` created with its peer directly in the overlay namespace,
 *    exact address set, `up`.
 * 5. sysctls (ip_forward — DNATed traffic leaves by the leg it came in on — no ICMP
 *    redirects for that, and the IPVS ones of §5.2); they need `eth0` to exist.
 * 5b. IPVS (`ipvsadm -R`) only now: the kernel refuses a destination it has no route
 *    to ("address not unicast"), and the route to the backends comes with `eth0`'s address.
 *    (Seen on the VM tier: with IPVS first, a new LB namespace never got its leg.) A SYN to
 *    a brand-new VIP in the few milliseconds between is refused by the LB's own stack.
 * 6. Overlay batch: the peer enslaved to `br0` and up: traffic arrives only from here on.
 * 7. conntrack entries of departed backends deleted LAST, after the rules no longer send
 *    new flows to them: one `conntrack -R -` process per LB namespace reads every
 *    `-D -d <VIP> -r <backend>` line (conntrack-tools ≥ 1.4.6; a line matching nothing is
 *    not an error there, unlike a lone `conntrack -D`).
 * The fast path (planLoadBalancerDelta, nftables only) keeps steps 3, 4 and 7 in that order
 * and plans them from the spec applied last instead of an observation.
 */

import { departedIpvsBackends, ipvsCommands, ipvsNftScript } from './lb-ipvs.js'
import { departedNftBackends, lbDelta, lbNftScript } from './lb-nft.js'
import { BRIDGE, LB_LEG, lbNamespace, lbVeth, overlayNamespace } from './names.js'
import type { ObservedHost, ObservedNamespace } from './observe.js'
import type { ObservedLoadBalancer } from './observe-lb.js'
import { ensureNamespace, ip, lbOwner, networkOwner, owned, type Plan, type Step } from './plan.js'
import type { CheckedLoadBalancer } from './spec.js'

/** Which balancer programs the VIPs. */
export type LbBackend = 'ipvs' | 'nftables'

/** The sysctls of an LB namespace for a backend. */
export function lbSysctls(backend: LbBackend): Map<string, string> {
  const out = new Map([
    ['net.ipv4.ip_forward', '1'],
    ['net.ipv4.conf.all.send_redirects', '0'],
    [`net.ipv4.conf.${LB_LEG}.send_redirects`, '0'],
  ])
  if (backend === 'ipvs') {
    out.set('net.ipv4.vs.conn_reuse_mode', '0')
    out.set('net.ipv4.vs.expire_nodest_conn', '1')
    out.set('net.ipv4.vs.expire_quiescent_template', '1')
    out.set('net.ipv4.vs.conntrack', '1')
  }
  return out
}

export function planLoadBalancer(
  lb: CheckedLoadBalancer,
  backend: LbBackend,
  host: ObservedHost,
  observed: ObservedLoadBalancer | undefined,
  overlay: ObservedNamespace | undefined,
): Plan {
  const net = lb.network
  const ns = lbNamespace(net.vni)
  const onet = overlayNamespace(net.vni)
  const peer = lbVeth(net.vni)
  const mtu = String(net.mtu)
  const pre: Step[] = []
  const hostSteps: Step[] = []
  const rules: Step[] = []
  const inside: Step[] = []
  const sysctls: Step[] = []
  const ipvs: Step[] = []
  const ovSteps: Step[] = []
  const cleanup: Step[] = []

  const usable = ensureNamespace(ns, host, observed, hostSteps)
  const seen = usable ? observed : undefined

  if (seen?.links.get('lo')?.up !== true) inside.push(ip(ns, 'link', 'set', 'lo', 'up'))
  const leg = seen?.links.get(LB_LEG)
  const theirs = overlay?.links.get(peer)
  const wantAddrs = [`${lb.address}/${net.subnet.prefix}`, ...lb.services.map((s) => `${s.vip}/32`)]
  if (leg?.kind !== 'veth' || leg.mac !== lb.mac || theirs === undefined) {
    if (theirs !== undefined) pre.push(ip(onet, 'link', 'del', peer))
    if (leg !== undefined) pre.push(ip(ns, 'link', 'del', LB_LEG))
    const legArgs = ['mtu', mtu, 'address', lb.mac, 'type', 'veth', 'peer', 'name', peer, 'netns', onet]
    inside.push(ip(ns, 'link', 'add', LB_LEG, ...legArgs, 'mtu', mtu))
    for (const a of wantAddrs) inside.push(ip(ns, 'addr', 'replace', a, 'dev', LB_LEG))
    inside.push(ip(ns, 'link', 'set', LB_LEG, 'up'))
    ovSteps.push(ip(onet, 'link', 'set', peer, 'master', BRIDGE, 'up'))
  } else {
    for (const a of leg.addresses)
      if (!wantAddrs.includes(a)) inside.push(ip(ns, 'addr', 'del', a, 'dev', LB_LEG))
    for (const a of wantAddrs)
      if (!leg.addresses.includes(a)) inside.push(ip(ns, 'addr', 'replace', a, 'dev', LB_LEG))
    if (leg.mtu !== net.mtu || !leg.up) inside.push(ip(ns, 'link', 'set', LB_LEG, 'mtu', mtu, 'up'))
    if (theirs.master !== BRIDGE || !theirs.up || theirs.mtu !== net.mtu)
      ovSteps.push(ip(onet, 'link', 'set', peer, 'mtu', mtu, 'master', BRIDGE, 'up'))
  }

  for (const [key, value] of lbSysctls(backend))
    if (seen?.sysctls.get(key) !== value) sysctls.push({ tool: 'sysctl', netns: ns, key, value })

  let departed: { vip: string | undefined; ip: string }[]
  if (backend === 'nftables') {
    const script = lbNftScript(lb, seen?.nft)
    if (script !== undefined) rules.push({ tool: 'nft', netns: ns, script })
    departed = departedNftBackends(lb, seen?.nft)
  } else {
    const script = ipvsNftScript(lb, seen?.nft)
    if (script !== undefined) rules.push({ tool: 'nft', netns: ns, script })
    const services = seen?.ipvs ?? []
    for (const args of ipvsCommands(lb, services)) ipvs.push({ tool: 'ipvs', netns: ns, args })
    departed = departedIpvsBackends(lb, services, seen?.nft)
  }
  cleanup.push(...conntrackCleanup(ns, departed))
  return {
    steps: [...pre, ...hostSteps, ...rules, ...inside, ...sysctls, ...ipvs, ...ovSteps, ...cleanup],
    warnings: [],
  }
}

function conntrackCleanup(ns: string, departed: readonly { vip: string | undefined; ip: string }[]): Step[] {
  return departed.map((d) => ({
    tool: 'conntrack' as const,
    netns: ns,
    args: d.vip === undefined ? ['-D', '-r', d.ip] : ['-D', '-d', d.vip, '-r', d.ip],
  }))
}

/**
 * The fast path of the nftables backend (dataplane.ts `updateLoadBalancer`): what turns
 * the LB `prev` (the spec applied last, trusted to be in the kernel) into `next`, planned
 * without observing anything — one nft transaction with the delta of the two tables, the
 * VIP /32 addresses that changed in one `ip` batch, the conntrack entries of departed
 * backends last (the order of planLoadBalancer, steps 3, 4 and 7). Undefined when the leg
 * itself would change (network, LB address or MAC): that needs the observed plan.
 */
export function planLoadBalancerDelta(
  prev: CheckedLoadBalancer,
  next: CheckedLoadBalancer,
): Plan | undefined {
  const [a, b] = [prev.network, next.network]
  const sameLeg =
    a.id === b.id &&
    a.vni === b.vni &&
    a.mtu === b.mtu &&
    a.subnet.address === b.subnet.address &&
    a.subnet.prefix === b.subnet.prefix &&
    prev.address === next.address &&
    prev.mac === next.mac
  if (!sameLeg) return undefined
  const ns = lbNamespace(b.vni)
  const steps: Step[] = []
  const { script, departed, gone, come } = lbDelta(prev, next)
  if (script !== undefined) steps.push({ tool: 'nft', netns: ns, script })
  // a VIP of a changed service is unique to it in both specs: the others keep theirs
  const had = new Set(gone.map((s) => s.vip))
  const has = new Set(come.map((s) => s.vip))
  for (const vip of had) if (!has.has(vip)) steps.push(ip(ns, 'addr', 'del', `${vip}/32`, 'dev', LB_LEG))
  for (const vip of has) if (!had.has(vip)) steps.push(ip(ns, 'addr', 'replace', `${vip}/32`, 'dev', LB_LEG))
  steps.push(...conntrackCleanup(ns, departed))
  return owned({ steps, warnings: [] }, lbOwner(b.id), networkOwner(b.id))
}

/** Deletes an LB namespace: its leg first (synchronously, freeing `lb-<vni>`), then the namespace. */
export function planLoadBalancerRemoval(
  vni: number,
  host: ObservedHost,
  observed: ObservedLoadBalancer | undefined,
): Step[] {
  const ns = lbNamespace(vni)
  const steps: Step[] = []
  if (observed?.links.has(LB_LEG) === true) steps.push(ip(ns, 'link', 'del', LB_LEG))
  if (host.namespaces.includes(ns)) steps.push(ip(undefined, 'netns', 'del', ns))
  return steps
}
