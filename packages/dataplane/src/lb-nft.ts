/**
 * The nftables backend of the service load balancer, all in `table ip swarmnet-lb` of the
 * LB namespace, a table no other planner touches. It holds no chain per service: services
 * are elements of sets and maps, grouped by K, their number of live backends:
 *
 *   set live-K     { type ipv4_addr }            VIPs with K live backends
 *   map bk-K       { VIP . i : backend IP }      the i-th live backend of a VIP (IP order)
 *   set none       { type ipv4_addr }            VIPs with no live backend
 *   set backends   { VIP . backend IP }          every backend, draining (weight 0) ones too
 *   chain prerouting (nat, dstnat)               per K in use, in K order:
 *                                                  ip daddr @live-K dnat to ip daddr . numgen random mod K map @bk-K
 *                                                then for @none: tcp reset / icmp port-unreachable
 *                                                (a client is refused at once)
 *   chain postrouting (nat, srcnat)              ct status dnat snat to <LB address>
 *
 * Why no chains: with a chain per service and per backend, nft fetches the chain cache of
 * the whole ruleset before ANY element of a verdict map can be added (50–90 ms with 20 000
 * chains) and listing the table takes seconds. Elements of plain sets and maps need no
 * such cache: adding a service is a few `add element` lines in one transaction.
 *
 * A draining backend stays in `backends` but leaves `bk-K`: new connections avoid it, its
 * conntrack entries keep existing flows going. `backends` is the kernel's record of who was
 * a backend, so when one disappears from the desired set the LB planner knows whose
 * conntrack entries to delete (departed = `backends` elements minus the desired ones).
 *
 * The planner is a pure delta between two table states ({@link LbTable}): the one read back
 * from `nft -j` (reconcile) or the one of the spec applied last (the fast path, dataplane.ts)
 * and the desired one. Order, and why: when the base chains are missing or differ (other
 * chains, another SNAT address) the whole table is replaced in one transaction (`table {}` +
 * `delete table` + full definition); otherwise ONE `nft -f` transaction touches only what
 * changed, in the order of nft-delta.ts (sets added, element deletes, element adds, chain
 * rewrites, stale sets last).
 *
 * The grouping by K is not LB-specific: {@link Balancer} describes any table that balances
 * keys (here a VIP, `ip daddr`; in the ingress namespace a published `proto . port`) over
 * their live backends, and {@link balancerTable}/{@link balancerRules} build it; ingress-nft.ts
 * reuses them with its own key.
 */
import { NFT_LB_TABLE } from './names.js'
import {
  commentsOf,
  type NftTable,
  type NftTableShape,
  nftDelta,
  sameList,
  tableDefinition,
} from './nft-delta.js'
import type { CheckedBackend, CheckedLoadBalancer, CheckedService } from './spec.js'
import { servicesById } from './spec-lb.js'

const T = `ip ${NFT_LB_TABLE}`

/** A table's chains (→ rule comments), sets (→ elements) and maps (→ key → value), as nft text. */
export type LbTable = NftTable

/** What is balanced: a key (nft text of the key expression's value) over its backends. */
export interface Balanced {
  readonly key: string
  readonly backends: readonly CheckedBackend[]
}

/** A table that balances keys over live backends with the live-K / bk-K / none / backends sets. */
export interface Balancer extends NftTableShape {
  /** The expression the key is read from: `ip daddr`, `meta l4proto . th dport`. */
  readonly keyExpr: string
  /** Rule prefix that restricts the balancing (`ip daddr 172.18.0.2 `), or ''. */
  readonly guard: string
}

const LB_BASE: ReadonlyMap<string, string> = new Map([
  ['prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
  ['postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
])

/** The LB's table: keys are VIPs. */
const LB_SHAPE: Balancer = {
  table: T,
  keyExpr: 'ip daddr',
  guard: '',
  declare: (name) => {
    if (name.startsWith('bk-')) return 'typeof ip daddr . numgen random mod 1 : ip daddr;'
    return name === 'backends' ? 'type ipv4_addr . ipv4_addr;' : 'type ipv4_addr;'
  },
}

const liveCount = (b: Balanced): number => {
  let k = 0
  for (const x of b.backends) if (x.weight > 0) k++
  return k
}

/** The live-backend counts K > 0 in use, ascending. */
export function liveKs(items: readonly Balanced[]): number[] {
  const seen = new Set<number>()
  for (const b of items) seen.add(liveCount(b))
  return [...seen].filter((k) => k > 0).sort((a, b) => a - b)
}

const usedKs = new WeakMap<CheckedLoadBalancer, readonly number[]>()

const asBalanced = (svc: CheckedService): Balanced => ({ key: svc.vip, backends: svc.backends })

/** The K in use of an LB (a checked LB never changes: computed once). */
function ksOf(lb: CheckedLoadBalancer): readonly number[] {
  let ks = usedKs.get(lb)
  if (ks === undefined) {
    ks = liveKs(lb.services.map(asBalanced))
    usedKs.set(lb, ks)
  }
  return ks
}

/** The balancing rules (one per K in use, in K order), then the refusal with no live backend. */
export function balancerRules(shape: Balancer, ks: readonly number[]): string[] {
  const { guard, keyExpr } = shape
  return [
    ...ks.map(
      (k) => `${guard}${keyExpr} @live-${k} dnat to ${keyExpr} . numgen random mod ${k} map @bk-${k}`,
    ),
    `${guard}${keyExpr} @none meta l4proto tcp reject with tcp reset`,
    `${guard}${keyExpr} @none reject with icmp type port-unreachable`,
  ]
}

/**
 * The sets and maps of a balancer with the K in `ks`, holding the elements of `only`
 * (every set and map of `ks` exists, empty or not), and no chain.
 */
export function balancerTable(ks: readonly number[], only: readonly Balanced[]): LbTable {
  const sets = new Map<string, Set<string>>([
    ['none', new Set()],
    ['backends', new Set()],
  ])
  const maps = new Map<string, Map<string, string>>()
  for (const k of ks) {
    sets.set(`live-${k}`, new Set())
    maps.set(`bk-${k}`, new Map())
  }
  for (const item of only) {
    for (const b of item.backends) sets.get('backends')?.add(`${item.key} . ${b.ip}`)
    const live = item.backends.filter((b) => b.weight > 0)
    if (live.length === 0) {
      sets.get('none')?.add(item.key)
      continue
    }
    sets.get(`live-${live.length}`)?.add(item.key)
    const bk = maps.get(`bk-${live.length}`)
    for (const [i, b] of live.entries()) bk?.set(`${item.key} . ${i}`, b.ip)
  }
  return { chains: new Map(), sets, maps }
}

/** Rules of the two base chains: one prerouting rule per live-backend count K in use, in K order. */
export function baseRules(lb: CheckedLoadBalancer): Map<string, string[]> {
  return new Map([
    ['prerouting', balancerRules(LB_SHAPE, ksOf(lb))],
    ['postrouting', [`ct status dnat snat to ${lb.address}`]],
  ])
}

/**
 * The table `lb` wants, in the shape `nft -j` is read into. With `only`, the elements are
 * those of these services alone (the chains and the sets and maps that exist are still the
 * whole LB's): two such partial tables of the services that changed have the same delta
 * as the whole tables, since the services that did not change add the same elements to both.
 */
export function lbTable(lb: CheckedLoadBalancer, only: readonly CheckedService[] = lb.services): LbTable {
  const { sets, maps } = balancerTable(ksOf(lb), only.map(asBalanced))
  const chains = new Map([...baseRules(lb)].map(([name, rules]) => [name, commentsOf(rules)]))
  return { chains, sets, maps }
}

/** The whole table, replacing whatever is there, in one transaction. */
export function fullLbScript(lb: CheckedLoadBalancer): string {
  const chains = new Map(
    [...baseRules(lb)].map(([name, rules]) => [name, { spec: LB_BASE.get(name) ?? '', rules }]),
  )
  return [`table ${T} {}`, `delete table ${T}`, ...tableDefinition(LB_SHAPE, lbTable(lb), chains)].join('\n')
}

/**
 * True when `have` can be brought to `want` by a delta: exactly the base chains `base`
 * (those whose rules the delta does not rewrite, as wanted), and no set where a map is
 * wanted or the other way round.
 */
export function skeletonMatches(
  want: LbTable,
  have: LbTable | undefined,
  fixed: readonly string[] = ['postrouting'],
): boolean {
  if (have === undefined || have.chains.size !== want.chains.size) return false
  for (const name of want.chains.keys()) if (!have.chains.has(name)) return false
  for (const name of fixed) if (!sameList(have.chains.get(name), want.chains.get(name))) return false
  for (const name of want.sets.keys()) if (have.maps.has(name)) return false
  for (const name of want.maps.keys()) if (have.sets.has(name)) return false
  return true
}

/**
 * The nft script that brings the table from `have` to `lb`, or undefined when it already
 * matches; `have` undefined (no table) or with a different skeleton: the whole table.
 */
export function lbNftScript(lb: CheckedLoadBalancer, have: LbTable | undefined): string | undefined {
  const want = lbTable(lb)
  if (have === undefined || !skeletonMatches(want, have)) return fullLbScript(lb)
  return nftDelta(LB_SHAPE, have, want, preroutingOf(lb))
}

const preroutingOf = (lb: CheckedLoadBalancer): Map<string, string[]> =>
  new Map([['prerouting', baseRules(lb).get('prerouting') ?? []]])

/**
 * The fast path's delta from the LB `prev` (trusted to be in the kernel) to `next`, same
 * LB address: computed over the services that changed only, so adding one service to
 * 10 000 costs a walk over the ids, not two whole tables. Same script as
 * `lbNftScript(next, lbTable(prev))`, and the backends that departed.
 */
export function lbDelta(
  prev: CheckedLoadBalancer,
  next: CheckedLoadBalancer,
): {
  script: string | undefined
  departed: { vip: string; ip: string }[]
  /** The services of `prev` that changed or went, and those of `next` that changed or came. */
  gone: CheckedService[]
  come: CheckedService[]
} {
  const before = servicesById(prev)
  const after = servicesById(next)
  const gone: CheckedService[] = []
  const come: CheckedService[] = []
  for (const svc of next.services) {
    const p = before.get(svc.id)
    if (p === svc || (p !== undefined && sameService(p, svc))) continue
    if (p !== undefined) gone.push(p)
    come.push(svc)
  }
  for (const p of prev.services) if (!after.has(p.id)) gone.push(p)
  const have = lbTable(prev, gone)
  const want = lbTable(next, come)
  return {
    script: nftDelta(LB_SHAPE, have, want, preroutingOf(next)),
    departed: departed(have, want).map(({ key, ip }) => ({ vip: key, ip })),
    gone,
    come,
  }
}

const sameService = (a: CheckedService, b: CheckedService): boolean =>
  a.vip === b.vip &&
  a.backends.length === b.backends.length &&
  a.backends.every((x, i) => x.ip === b.backends[i]?.ip && x.weight === b.backends[i]?.weight)

/**
 * Backends `have` still records (set `backends`) that `lb` no longer lists for their VIP:
 * whose conntrack entries to delete.
 */
export function departedNftBackends(
  lb: CheckedLoadBalancer,
  have: LbTable | undefined,
): { vip: string; ip: string }[] {
  return have === undefined ? [] : departed(have, lbTable(lb)).map(({ key, ip }) => ({ vip: key, ip }))
}

/** Elements of `have`'s `backends` (`<key> . <ip>`) that `want` lacks, split at the last ` . `. */
export function departed(have: LbTable, want: LbTable): { key: string; ip: string }[] {
  const wanted = want.sets.get('backends') ?? new Set()
  const out: { key: string; ip: string }[] = []
  for (const e of have.sets.get('backends') ?? []) {
    const at = e.lastIndexOf(' . ')
    if (at > 0 && !wanted.has(e)) out.push({ key: e.slice(0, at), ip: e.slice(at + 3) })
  }
  return out
}
