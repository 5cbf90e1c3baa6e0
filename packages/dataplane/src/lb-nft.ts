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
 * and the desired one. Every rule carries `comment "sn:<hash of its text>"`, so rule lists
 * compare by comments. Order, and why: when the base chains are missing or differ (other
 * chains, another SNAT address) the whole table is replaced in one transaction (`table {}` +
 * `delete table` + full definition); otherwise ONE `nft -f` transaction touches only what
 * changed, in an order nft accepts: missing sets and maps are added (`add set` is
 * idempotent; a rule or an element needs its set), then element deletes before element adds
 * (a map value that changes is a delete + add: adding an existing key with another value is
 * refused, EEXIST), then prerouting rewritten (flush + rules) only when its rule list
 * differs, BEFORE the sets and maps of a K no longer used are deleted, last (a set a rule
 * references cannot be deleted). A transaction is atomic: refused as a whole, nothing changes.
 */
import { createHash } from 'node:crypto'
import { NFT_LB_TABLE } from './names.js'
import type { ObservedLbTable } from './observe-lb.js'
import type { CheckedLoadBalancer, CheckedService } from './spec.js'
import { servicesById } from './spec-lb.js'

const T = `ip ${NFT_LB_TABLE}`

/** A table's chains (→ rule comments), sets (→ elements) and maps (→ key → value), as nft text. */
export type LbTable = ObservedLbTable

const commentOf = (rule: string): string =>
  `sn:${createHash('sha256').update(rule).digest('hex').slice(0, 12)}`

const withComment = (rule: string): string => `${rule} comment "${commentOf(rule)}"`

/** The comments a chain with these rules shows in `nft -j` output. */
export const commentsOf = (rules: readonly string[]): string[] => rules.map(commentOf)

const BASE: ReadonlyMap<string, string> = new Map([
  ['prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
  ['postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
])

/** The declaration of one of our sets or maps, by name. */
function declarationOf(name: string): string {
  if (name.startsWith('bk-')) return 'typeof ip daddr . numgen random mod 1 : ip daddr;'
  return name === 'backends' ? 'type ipv4_addr . ipv4_addr;' : 'type ipv4_addr;'
}

const liveCount = (svc: CheckedService): number => {
  let k = 0
  for (const b of svc.backends) if (b.weight > 0) k++
  return k
}

const usedKs = new WeakMap<CheckedLoadBalancer, readonly number[]>()

/** The live-backend counts K > 0 in use, ascending (a checked LB never changes: computed once). */
function ksOf(lb: CheckedLoadBalancer): readonly number[] {
  let ks = usedKs.get(lb)
  if (ks === undefined) {
    const seen = new Set<number>()
    for (const svc of lb.services) seen.add(liveCount(svc))
    ks = [...seen].filter((k) => k > 0).sort((a, b) => a - b)
    usedKs.set(lb, ks)
  }
  return ks
}

/** Rules of the two base chains: one prerouting rule per live-backend count K in use, in K order. */
export function baseRules(lb: CheckedLoadBalancer): Map<string, string[]> {
  const ks = ksOf(lb)
  return new Map([
    [
      'prerouting',
      [
        ...ks.map((k) => `ip daddr @live-${k} dnat to ip daddr . numgen random mod ${k} map @bk-${k}`),
        'ip daddr @none meta l4proto tcp reject with tcp reset',
        'ip daddr @none reject with icmp type port-unreachable',
      ],
    ],
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
  const sets = new Map<string, Set<string>>([
    ['none', new Set()],
    ['backends', new Set()],
  ])
  const maps = new Map<string, Map<string, string>>()
  for (const k of ksOf(lb)) {
    sets.set(`live-${k}`, new Set())
    maps.set(`bk-${k}`, new Map())
  }
  for (const svc of only) {
    for (const b of svc.backends) sets.get('backends')?.add(`${svc.vip} . ${b.ip}`)
    const live = svc.backends.filter((b) => b.weight > 0)
    if (live.length === 0) {
      sets.get('none')?.add(svc.vip)
      continue
    }
    sets.get(`live-${live.length}`)?.add(svc.vip)
    const bk = maps.get(`bk-${live.length}`)
    for (const [i, b] of live.entries()) bk?.set(`${svc.vip} . ${i}`, b.ip)
  }
  const chains = new Map([...baseRules(lb)].map(([name, rules]) => [name, commentsOf(rules)]))
  return { chains, sets, maps }
}

const same = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

const elements = (items: Iterable<string>): string => [...items].join(', ')
/** Elements of a delta line in one order whatever the order they were read in. */
const sorted = (items: Iterable<string>): string => [...items].sort().join(', ')

/** The whole table, replacing whatever is there, in one transaction. */
export function fullLbScript(lb: CheckedLoadBalancer): string {
  const want = lbTable(lb)
  const lines = [`table ${T} {}`, `delete table ${T}`, `table ${T} {`]
  for (const [name, elems] of want.sets) {
    lines.push(`  set ${name} {`, `    ${declarationOf(name)}`)
    if (elems.size > 0) lines.push(`    elements = { ${elements(elems)} }`)
    lines.push('  }')
  }
  for (const [name, elems] of want.maps) {
    lines.push(`  map ${name} {`, `    ${declarationOf(name)}`)
    if (elems.size > 0)
      lines.push(`    elements = { ${elements([...elems].map(([k, v]) => `${k} : ${v}`))} }`)
    lines.push('  }')
  }
  for (const [name, rules] of baseRules(lb)) {
    lines.push(
      `  chain ${name} {`,
      `    ${BASE.get(name)}`,
      ...rules.map((r) => `    ${withComment(r)}`),
      '  }',
    )
  }
  lines.push('}')
  return lines.join('\n')
}

/**
 * True when `have` can be brought to `lb` by a delta: exactly our two base chains, the
 * SNAT rule as wanted, and no set where a map is wanted or the other way round.
 */
export function skeletonMatches(want: LbTable, have: LbTable | undefined): boolean {
  if (have === undefined || have.chains.size !== BASE.size) return false
  if (!have.chains.has('prerouting') || !same(have.chains.get('postrouting'), want.chains.get('postrouting')))
    return false
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
  return deltaScript(have, want, baseRules(lb).get('prerouting') ?? [])
}

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
    script: deltaScript(have, want, baseRules(next).get('prerouting') ?? []),
    departed: departed(have, want),
    gone,
    come,
  }
}

const sameService = (a: CheckedService, b: CheckedService): boolean =>
  a.vip === b.vip &&
  a.backends.length === b.backends.length &&
  a.backends.every((x, i) => x.ip === b.backends[i]?.ip && x.weight === b.backends[i]?.weight)

/** The element, rule and set lines from `have` to `want` (same skeleton), in the order of the module note. */
function deltaScript(have: LbTable, want: LbTable, pre: readonly string[]): string | undefined {
  const adds: string[] = []
  const deletes: string[] = []
  const inserts: string[] = []
  for (const [name, elems] of want.sets) {
    const cur = have.sets.get(name)
    if (cur === undefined) adds.push(`add set ${T} ${name} { ${declarationOf(name)} }`)
    const gone = [...(cur ?? [])].filter((e) => !elems.has(e))
    const come = [...elems].filter((e) => cur?.has(e) !== true)
    if (gone.length > 0) deletes.push(`delete element ${T} ${name} { ${sorted(gone)} }`)
    if (come.length > 0) inserts.push(`add element ${T} ${name} { ${sorted(come)} }`)
  }
  for (const [name, elems] of want.maps) {
    const cur = have.maps.get(name)
    if (cur === undefined) adds.push(`add map ${T} ${name} { ${declarationOf(name)} }`)
    const gone = [...(cur ?? [])].filter(([k, v]) => elems.get(k) !== v).map(([k]) => k)
    const come = [...elems].filter(([k, v]) => cur?.get(k) !== v).map(([k, v]) => `${k} : ${v}`)
    if (gone.length > 0) deletes.push(`delete element ${T} ${name} { ${sorted(gone)} }`)
    if (come.length > 0) inserts.push(`add element ${T} ${name} { ${sorted(come)} }`)
  }
  const rules: string[] = []
  if (!same(have.chains.get('prerouting'), commentsOf(pre))) {
    rules.push(`flush chain ${T} prerouting`)
    for (const r of pre) rules.push(`add rule ${T} prerouting ${withComment(r)}`)
  }
  const stale: string[] = []
  for (const name of have.sets.keys()) if (!want.sets.has(name)) stale.push(`delete set ${T} ${name}`)
  for (const name of have.maps.keys()) if (!want.maps.has(name)) stale.push(`delete map ${T} ${name}`)
  const lines = [...adds, ...deletes, ...inserts, ...rules, ...stale]
  return lines.length === 0 ? undefined : lines.join('\n')
}

/**
 * Backends `have` still records (set `backends`) that `lb` no longer lists for their VIP:
 * whose conntrack entries to delete.
 */
export function departedNftBackends(
  lb: CheckedLoadBalancer,
  have: LbTable | undefined,
): { vip: string; ip: string }[] {
  return have === undefined ? [] : departed(have, lbTable(lb))
}

function departed(have: LbTable, want: LbTable): { vip: string; ip: string }[] {
  const wanted = want.sets.get('backends') ?? new Set()
  const out: { vip: string; ip: string }[] = []
  for (const e of have.sets.get('backends') ?? []) {
    const [vip, ip] = e.split(' . ')
    if (vip !== undefined && ip !== undefined && !wanted.has(e)) out.push({ vip, ip })
  }
  return out
}
