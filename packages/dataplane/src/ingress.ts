/**
 * Planner for the ingress routing mesh on this node (§5.4). The ingress namespace is the LB
 * namespace of the ingress network (`sn-lb-<vni>`, built by lb.ts) plus a leg on the gateway
 * bridge (`gwbr0` inside, `sngw-_<vni>` on the host; MAC from its address, the gateway prefix,
 * default route via the bridge), its own table (ingress-nft.ts); in the host, the DNAT of
 * published ports and the operators' chain (ingress-host.ts); in each task, the REDIRECT
 * (task-nft.ts, planned with the sandbox).
 *
 * Order, and why:
 * 1. Host batch (after deleting a wrong inner leg: a veth pair dies as a whole): the leg (created with its peer directly in the ingress namespace, which the
 *    LB plan before this one has ensured), enslaved to the bridge and up.
 * 2. The ingress namespace's table BEFORE its address: a port balances from its first packet
 *    instead of being refused by the namespace's own stack.
 * 3. Ingress namespace batch: the address on `gwbr0`, up, the default route.
 * 4. The host table: DNAT to the namespace only now that it answers; the user chain kept.
 * 5. iptables (one `iptables-restore --noflush`), when the host has a filter table.
 * 6. conntrack entries of departed backends (`-D -d <gatewayIp> -r <backend>`) LAST, after
 *    the rules no longer send new flows to them; returned apart, so the node plan puts them
 *    next to the LB's own in the one `conntrack -R` of the namespace.
 * The fast path (planIngressDelta) plans steps 2, 4 and 6 from the specs applied last instead
 * of an observation; update.ts runs 2 and 4 side by side (its note says why that is safe).
 */
import { macFromIp } from './addr.js'
import {
  hostIngressRemoval,
  hostIngressRules,
  hostIngressScript,
  hostIngressTable,
  planIptables,
} from './ingress-host.js'
import { INGRESS_T, ingressIpvsScript, ingressNsDelta, ingressNsScript } from './ingress-nft.js'
import type { LbBackend } from './lb.js'
import { departedIpvsBackends } from './lb-ipvs.js'
import { GATEWAY_LEG, INGRESS_VETH_PREFIX, ingressVeth, lbNamespace } from './names.js'
import type { ObservedHost } from './observe.js'
import type { ObservedLoadBalancer } from './observe-lb.js'
import { ip, type Step } from './plan.js'
import type { CheckedIngress, CheckedLoadBalancer, NodeConfig } from './spec.js'

export interface IngressPlan {
  /** Steps 1–5 of the module note. */
  readonly steps: readonly Step[]
  /** Step 6: conntrack lines in the ingress namespace. */
  readonly conntrack: readonly Step[]
  readonly warnings: readonly string[]
}

const conntrack = (ns: string, gatewayIp: string, ips: readonly string[]): Step[] =>
  ips.map((b) => ({ tool: 'conntrack', netns: ns, args: ['-D', '-d', gatewayIp, '-r', b] }))

export function planIngress(
  ingress: CheckedIngress,
  lb: CheckedLoadBalancer,
  backend: LbBackend,
  cfg: NodeConfig,
  host: ObservedHost,
  observed: ObservedLoadBalancer | undefined,
  gatewayIps: ReadonlyMap<string, string>,
): IngressPlan {
  const vni = ingress.network.vni
  const ns = lbNamespace(vni)
  const seen =
    host.namespaces.includes(ns) && observed !== undefined && !observed.broken ? observed : undefined
  const pre: Step[] = []
  const hostSteps: Step[] = []
  const rules: Step[] = []
  const inside: Step[] = []

  // 1. the leg
  const hostLeg = host.links.get(ingressVeth(vni))
  const leg = seen?.links.get(GATEWAY_LEG)
  const mtu = String(cfg.underlayMtu)
  const mac = macFromIp(ingress.gatewayIp)
  const want = `${ingress.gatewayIp}/${cfg.gatewaySubnet.prefix}`
  for (const l of host.links.values())
    if (l.name.startsWith(INGRESS_VETH_PREFIX) && l.name !== ingressVeth(vni))
      hostSteps.push(ip(undefined, 'link', 'del', l.name))
  const fresh = leg?.kind !== 'veth' || leg.mac !== mac || hostLeg === undefined
  if (fresh) {
    if (leg !== undefined) pre.push(ip(ns, 'link', 'del', GATEWAY_LEG))
    if (hostLeg !== undefined) hostSteps.push(ip(undefined, 'link', 'del', ingressVeth(vni)))
    const peer = ['peer', 'name', GATEWAY_LEG, 'netns', ns, 'mtu', mtu, 'address', mac]
    hostSteps.push(
      ip(undefined, 'link', 'add', ingressVeth(vni), 'mtu', mtu, 'type', 'veth', ...peer),
      ip(undefined, 'link', 'set', ingressVeth(vni), 'master', cfg.gatewayBridge, 'up'),
    )
  } else if (hostLeg.master !== cfg.gatewayBridge || !hostLeg.up)
    hostSteps.push(ip(undefined, 'link', 'set', ingressVeth(vni), 'master', cfg.gatewayBridge, 'up'))

  // 2. the namespace's table, 6. its departed backends
  let departed: string[]
  if (backend === 'nftables') {
    const s = ingressNsScript(ingress, lb, seen?.ingress)
    if (s.script !== undefined) rules.push({ tool: 'nft', netns: ns, script: s.script })
    departed = s.departed
  } else {
    const script = ingressIpvsScript(ingress, lb, seen?.ingress)
    if (script !== undefined) rules.push({ tool: 'nft', netns: ns, script })
    const published = new Set(ingress.ports.map((p) => p.serviceId))
    const vips = new Set(lb.services.filter((s) => published.has(s.id)).map((s) => s.vip))
    const gone = departedIpvsBackends(lb, seen?.ipvs ?? [], seen?.nft)
    departed = [...new Set(gone.filter((d) => d.vip === undefined || vips.has(d.vip)).map((d) => d.ip))]
  }

  // 3. address, up, default route
  const have = fresh ? [] : (leg?.addresses ?? [])
  for (const a of have) if (a !== want) inside.push(ip(ns, 'addr', 'del', a, 'dev', GATEWAY_LEG))
  if (!have.includes(want)) inside.push(ip(ns, 'addr', 'replace', want, 'dev', GATEWAY_LEG))
  if (fresh || leg?.up !== true || leg.mtu !== cfg.underlayMtu)
    inside.push(ip(ns, 'link', 'set', GATEWAY_LEG, 'mtu', mtu, 'up'))
  const route = fresh ? undefined : seen?.routes.find((r) => r.dst === 'default')
  if (route?.gateway !== cfg.gatewayAddress || route.dev !== GATEWAY_LEG)
    inside.push(ip(ns, 'route', 'replace', 'default', 'via', cfg.gatewayAddress, 'dev', GATEWAY_LEG))

  // 4. the host table, 5. iptables
  const { table, missing } = hostIngressTable(ingress, cfg, gatewayIps)
  const hostScript = hostIngressScript(table, hostIngressRules(ingress.gatewayIp, cfg), host.ingress)
  const last: Step[] = []
  if (hostScript !== undefined) last.push({ tool: 'nft', script: hostScript })
  last.push(...planIptables(cfg, true, host.iptables))
  return {
    steps: [...pre, ...hostSteps, ...rules, ...inside, ...last],
    conntrack: conntrack(ns, ingress.gatewayIp, departed),
    warnings: missing.map((e) => `ingress: host-mode port of ${e}: no local endpoint with a gateway leg`),
  }
}

/** Host steps deleting every ingress leg: before any LB namespace goes (its veth would vanish asynchronously). */
export function ingressLegRemoval(host: ObservedHost): Step[] {
  return [...host.links.values()]
    .filter((l) => l.name.startsWith(INGRESS_VETH_PREFIX))
    .map((l) => ip(undefined, 'link', 'del', l.name))
}

/**
 * The rest of the mesh when none is wanted (the legs go with {@link ingressLegRemoval}): the
 * host table, ingress tables left in LB namespaces that stay (`keptLbs`, by VNI), our
 * iptables chain and jump.
 */
export function planIngressRemoval(
  cfg: NodeConfig,
  host: ObservedHost,
  loadBalancers: ReadonlyMap<number, ObservedLoadBalancer>,
  keptLbs: ReadonlySet<number>,
): Step[] {
  const steps: Step[] = []
  for (const [vni, lb] of loadBalancers)
    if (keptLbs.has(vni) && lb.ingress !== undefined)
      steps.push({ tool: 'nft', netns: lbNamespace(vni), script: `delete table ${INGRESS_T}` })
  if (host.ingress !== undefined) steps.push({ tool: 'nft', script: hostIngressRemoval() })
  steps.push(...planIptables(cfg, false, host.iptables))
  return steps
}

/**
 * The fast path (nftables backend): from the ingress and ingress LB applied last, trusted to
 * be in the kernel, to the next ones — the namespace table's delta, the host table's delta
 * (its sets only: the rules depend on the gateway address alone), conntrack of departed
 * backends. Undefined when the leg or the rules would change (network, gateway address):
 * that needs the observed plan. The LB's own delta is the caller's.
 */
export function planIngressDelta(
  prev: {
    readonly ingress: CheckedIngress
    readonly lb: CheckedLoadBalancer
    readonly gatewayIps: ReadonlyMap<string, string>
  },
  next: {
    readonly ingress: CheckedIngress
    readonly lb: CheckedLoadBalancer
    readonly gatewayIps: ReadonlyMap<string, string>
  },
  cfg: NodeConfig,
): IngressPlan | undefined {
  if (
    prev.ingress.network.vni !== next.ingress.network.vni ||
    prev.ingress.gatewayIp !== next.ingress.gatewayIp
  )
    return undefined
  const ns = lbNamespace(next.ingress.network.vni)
  const steps: Step[] = []
  const nsDelta = ingressNsDelta(prev.ingress, prev.lb, next.ingress, next.lb)
  if (nsDelta.script !== undefined) steps.push({ tool: 'nft', netns: ns, script: nsDelta.script })
  // the host table: the published ports that came or went, and the (few) host-mode ports
  const { added: come, removed: gone } = nsDelta
  const hostports = (a: typeof prev) => hostIngressTable({ ...a.ingress, ports: [] }, cfg, a.gatewayIps)
  const have = hostports(prev).table
  const { table, missing } = hostports(next)
  const hostScript = hostIngressScript({ ...table, sets: new Map([['ports', come]]) }, new Map(), {
    ...have,
    sets: new Map([['ports', gone]]),
  })
  if (hostScript !== undefined) steps.push({ tool: 'nft', script: hostScript })
  return {
    steps,
    conntrack: conntrack(ns, next.ingress.gatewayIp, nsDelta.departed),
    warnings: missing.map((e) => `ingress: host-mode port of ${e}: no local endpoint with a gateway leg`),
  }
}
