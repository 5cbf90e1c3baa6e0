/**
 * The ingress namespace's own table `ip swarmnet-ingress` (the LB namespace of the ingress
 * network; the LB planner never touches this table, and this module never touches
 * `swarmnet-lb`). Packets to the namespace's gateway-bridge address on a published
 * `proto . port` are balanced over the live backends of that port's service in the ingress
 * LB spec; the LB table's postrouting `ct status dnat snat to <LB address>` then SNATs them
 * to the namespace's ingress address, so replies come back through this node.
 *
 * nftables backend: lb-nft.ts's chain-less shape ({@link Balancer}) keyed by
 * `meta l4proto . th dport` behind `ip daddr <gatewayIp>` instead of by `ip daddr`:
 *
 *   set live-K   { inet_proto . inet_service }              published ports with K live backends
 *   map bk-K     { proto . port . i : backend IP }           the i-th live backend
 *   set none     { inet_proto . inet_service }               no live backend: tcp reset / port-unreachable
 *   set backends { inet_proto . inet_service . ipv4_addr }   every backend, for conntrack cleanup
 *   chain prerouting (nat, dstnat)
 *
 * IPVS backend (Docker's shape): `map marks { proto . port : mark }` with the SAME mark the
 * LB's IPVS backend gives the port's service (lb-ipvs.ts `fwmarks` over the ingress LB's
 * service ids) and `ip daddr <gatewayIp> meta mark set meta l4proto . th dport map @marks`
 * in an input chain at priority mangle; the IPVS services and their SNAT are the LB
 * planner's as they are.
 *
 * Order: the same as lb-nft.ts (nft-delta.ts: sets added, element deletes then adds, the chain
 * rewritten, stale sets last); the whole table is replaced in one transaction when its
 * skeleton differs (no operator chain lives here, unlike the host table).
 */
import { fwmarks } from './lb-ipvs.js'
import {
  type Balanced,
  type Balancer,
  balancerRules,
  balancerTable,
  departed,
  liveKs,
  skeletonMatches,
} from './lb-nft.js'
import { NFT_INGRESS_TABLE } from './names.js'
import { commentsOf, type NftTable, nftDelta, tableDefinition } from './nft-delta.js'
import type { CheckedBackend, CheckedIngress, CheckedLoadBalancer } from './spec.js'
import { servicesById } from './spec-lb.js'

export const INGRESS_T = `ip ${NFT_INGRESS_TABLE}`

const PREROUTING = 'type nat hook prerouting priority dstnat; policy accept;'
const INPUT = 'type filter hook input priority mangle; policy accept;'

function shapeOf(gatewayIp: string): Balancer {
  return {
    table: INGRESS_T,
    keyExpr: 'meta l4proto . th dport',
    guard: `ip daddr ${gatewayIp} `,
    declare: (name) => {
      if (name.startsWith('bk-')) return 'typeof meta l4proto . th dport . numgen random mod 1 : ip daddr;'
      if (name === 'marks') return 'type inet_proto . inet_service : mark;'
      return name === 'backends'
        ? 'type inet_proto . inet_service . ipv4_addr;'
        : 'type inet_proto . inet_service;'
    },
  }
}

const keyOf = (p: { protocol: string; published: number }): string => `${p.protocol} . ${p.published}`

/** Each published port with the backends of its service in `lb` (none when the LB lacks it). */
export function balancedPorts(ingress: CheckedIngress, lb: CheckedLoadBalancer): Balanced[] {
  const services = servicesById(lb)
  return ingress.ports.map((p) => ({ key: keyOf(p), backends: services.get(p.serviceId)?.backends ?? [] }))
}

function tableOf(gatewayIp: string, ks: readonly number[], only: readonly Balanced[]): NftTable {
  const { sets, maps } = balancerTable(ks, only)
  return { chains: new Map([['prerouting', commentsOf(balancerRules(shapeOf(gatewayIp), ks))]]), sets, maps }
}

/** The nft-backend table `ingress` wants over `lb`'s backends. */
export function ingressNsTable(ingress: CheckedIngress, lb: CheckedLoadBalancer): NftTable {
  const items = balancedPorts(ingress, lb)
  return tableOf(ingress.gatewayIp, liveKs(items), items)
}

/**
 * The script from `have` (the ingress namespace's table as read, undefined when absent) to
 * `ingress`, undefined when it matches; and the backends whose conntrack entries to delete.
 */
export function ingressNsScript(
  ingress: CheckedIngress,
  lb: CheckedLoadBalancer,
  have: NftTable | undefined,
): { script: string | undefined; departed: string[] } {
  const shape = shapeOf(ingress.gatewayIp)
  const items = balancedPorts(ingress, lb)
  const ks = liveKs(items)
  const want = tableOf(ingress.gatewayIp, ks, items)
  const rules = new Map([['prerouting', balancerRules(shape, ks)]])
  if (have === undefined || !skeletonMatches(want, have, [])) {
    const chains = new Map([['prerouting', { spec: PREROUTING, rules: rules.get('prerouting') ?? [] }]])
    const script = [
      `table ${INGRESS_T} {}`,
      `delete table ${INGRESS_T}`,
      ...tableDefinition(shape, want, chains),
    ]
    return { script: script.join('\n'), departed: have === undefined ? [] : departedIps(have, want) }
  }
  return { script: nftDelta(shape, have, want, rules), departed: departedIps(have, want) }
}

const departedIps = (have: NftTable, want: NftTable): string[] => [
  ...new Set(departed(have, want).map((d) => d.ip)),
]

const NONE: readonly CheckedBackend[] = []
const portMaps = new WeakMap<CheckedIngress, ReadonlyMap<number, string>>()

/** A published port as a number (udp above 65 535): map keys without building a string per port. */
const numOf = (p: { protocol: string; published: number }): number =>
  p.published + (p.protocol === 'udp' ? 65_536 : 0)
const textOf = (n: number): string => (n > 65_535 ? `udp . ${n - 65_536}` : `tcp . ${n}`)

/** Published port (as {@link numOf}) → service id of a checked ingress (made once: a checked ingress never changes). */
function portMap(ingress: CheckedIngress): ReadonlyMap<number, string> {
  let map = portMaps.get(ingress)
  if (map === undefined) {
    const m = new Map<number, string>()
    for (const p of ingress.ports) m.set(numOf(p), p.serviceId)
    map = m
    portMaps.set(ingress, map)
  }
  return map
}

const kCache = new WeakMap<CheckedIngress, { lb: CheckedLoadBalancer; ks: number[] }>()

/** The live-backend counts in use by `ingress` over `lb` (remembered for the last LB it was asked with). */
function ingressKs(ingress: CheckedIngress, lb: CheckedLoadBalancer): number[] {
  const hit = kCache.get(ingress)
  if (hit?.lb === lb) return hit.ks
  const services = servicesById(lb)
  const seen = new Set<number>()
  for (const p of ingress.ports) {
    let k = 0
    for (const b of services.get(p.serviceId)?.backends ?? NONE) if (b.weight > 0) k++
    if (k > 0) seen.add(k)
  }
  const ks = [...seen].sort((a, b) => a - b)
  kCache.set(ingress, { lb, ks })
  return ks
}

/**
 * The fast path's delta (nothing observed): from (`prev`, `prevLb`), trusted to be in the
 * kernel, to (`next`, `nextLb`), same gateway address. Only the ports whose backends
 * changed (or that came or went) are put in the two partial tables, as lbDelta does; a
 * backend list is compared by identity first (checkLoadBalancer keeps an unchanged service's).
 * Also the published ports that were `added` and `removed` (the host table's delta).
 */
export function ingressNsDelta(
  prev: CheckedIngress,
  prevLb: CheckedLoadBalancer,
  next: CheckedIngress,
  nextLb: CheckedLoadBalancer,
): { script: string | undefined; departed: string[]; added: Set<string>; removed: Set<string> } {
  const before = portMap(prev)
  const after = portMap(next)
  const added = new Set<string>()
  const removed = new Set<string>()
  const [was, is] = [servicesById(prevLb), servicesById(nextLb)]
  const gone: Balanced[] = []
  const come: Balanced[] = []
  for (const [n, sid] of after) {
    const now = is.get(sid)?.backends ?? NONE
    const old = before.get(n)
    if (old !== undefined) {
      const then = was.get(old)?.backends ?? NONE
      if (sameBackends(then, now)) continue
      gone.push({ key: textOf(n), backends: then })
    } else added.add(textOf(n))
    come.push({ key: textOf(n), backends: now })
  }
  // nothing went when every port of `before` is still there (sizes tell without a walk)
  if (before.size + added.size !== after.size)
    for (const [n, old] of before)
      if (!after.has(n)) {
        removed.add(textOf(n))
        gone.push({ key: textOf(n), backends: was.get(old)?.backends ?? NONE })
      }
  const ksNext = ingressKs(next, nextLb)
  const have = tableOf(prev.gatewayIp, ingressKs(prev, prevLb), gone)
  const want = tableOf(next.gatewayIp, ksNext, come)
  const rules = new Map([['prerouting', balancerRules(shapeOf(next.gatewayIp), ksNext)]])
  const script = nftDelta(shapeOf(next.gatewayIp), have, want, rules)
  return { script, departed: departedIps(have, want), added, removed }
}

const sameBackends = (a: readonly CheckedBackend[], b: readonly CheckedBackend[]): boolean =>
  a === b || (a.length === b.length && a.every((x, i) => x.ip === b[i]?.ip && x.weight === b[i]?.weight))

/** The IPVS-backend table: published port → the fwmark of its service (ports of unknown services left out). */
export function ingressIpvsTable(ingress: CheckedIngress, lb: CheckedLoadBalancer): NftTable {
  const marks = fwmarks(lb.services.map((s) => s.id))
  const elems = new Map<string, string>()
  for (const p of ingress.ports) {
    const mark = marks.get(p.serviceId)
    if (mark !== undefined) elems.set(keyOf(p), String(mark))
  }
  return {
    chains: new Map([['input', commentsOf([ipvsRule(ingress)])]]),
    sets: new Map(),
    maps: new Map([['marks', elems]]),
  }
}

const ipvsRule = (ingress: CheckedIngress): string =>
  `ip daddr ${ingress.gatewayIp} meta mark set meta l4proto . th dport map @marks`

/** The IPVS-backend script from `have`, undefined when it matches. */
export function ingressIpvsScript(
  ingress: CheckedIngress,
  lb: CheckedLoadBalancer,
  have: NftTable | undefined,
): string | undefined {
  const shape = shapeOf(ingress.gatewayIp)
  const want = ingressIpvsTable(ingress, lb)
  const rules = new Map([['input', [ipvsRule(ingress)]]])
  const marks = have?.maps.get('marks')
  // `nft -j` may print a mark in hex: compare numbers
  if (have !== undefined && marks !== undefined)
    have = {
      ...have,
      maps: new Map([['marks', new Map([...marks].map(([k, v]) => [k, String(Number(v))]))]]),
    }
  if (have === undefined || !skeletonMatches(want, have, []) || have.sets.size > 0 || have.maps.size !== 1) {
    const chains = new Map([['input', { spec: INPUT, rules: [ipvsRule(ingress)] }]])
    return [
      `table ${INGRESS_T} {}`,
      `delete table ${INGRESS_T}`,
      ...tableDefinition(shape, want, chains),
    ].join('\n')
  }
  return nftDelta(shape, have, want, rules)
}
