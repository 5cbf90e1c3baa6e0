/**
 * The nftables backend of the service load balancer (kube-proxy's nft shape), all in
 * `table ip swarmnet-lb` of the LB namespace, a table no other planner touches:
 *
 *   map vips { ipv4_addr : verdict }            VIP → goto svc-<skey>   (every port of a VIP)
 *   chain prerouting  (nat, dstnat)             ip daddr vmap @vips
 *   chain svc-<skey>                            numgen random mod N vmap { 0 : goto svc-<skey>-<ip>, … }
 *                                               or, with no live backend: reject (tcp reset / icmp
 *                                               port-unreachable), so a client is refused at once
 *   chain svc-<skey>-<ip>                       dnat to <ip> (port unchanged)
 *   chain postrouting (nat, srcnat)             ct status dnat snat to <LB address>
 *
 * A draining backend (weight 0) keeps its chain but leaves the numgen set: new connections
 * avoid it, its conntrack entries keep existing flows going. Its chain is also the kernel's
 * record that it was a backend, so when it disappears from the desired set the LB planner
 * knows whose conntrack entries to delete (no cache of past backends).
 *
 * Every rule carries `comment "sn:<hash of its text>"`: a chain is current when its list of
 * comments is the desired one. Order, and why: when the skeleton (the two base chains and
 * the map) is missing or differs, the whole table is replaced in one transaction (`table
 * {}` + `delete table` + full definition); otherwise ONE `nft -f` transaction touches only
 * what changed, in an order the kernel accepts: map elements that go or change are deleted
 * first (a chain referenced by an element cannot be deleted), then backend chains are
 * written (a service chain's vmap must find them), then service chains (flush + rules),
 * then new map elements (they need their chain), and last stale chains are flushed (their
 * jumps go) and deleted. Services that did not change are not mentioned at all.
 */
import { createHash } from 'node:crypto'
import { lbBackendChain, NFT_LB_TABLE } from './names.js'
import type { ObservedLbTable } from './observe-lb.js'
import type { CheckedLoadBalancer, CheckedService } from './spec.js'

const T = `ip ${NFT_LB_TABLE}`

/** A chain's rules as nft text (without comments). */
export type ChainRules = readonly string[]

const commentOf = (rule: string): string =>
  `sn:${createHash('sha256').update(rule).digest('hex').slice(0, 12)}`

const withComment = (rule: string): string => `${rule} comment "${commentOf(rule)}"`

/** The comments a chain with these rules shows in `nft -j` output. */
export const commentsOf = (rules: ChainRules): string[] => rules.map(commentOf)

/** The base chains: name → declaration and rules. */
export function skeleton(lb: CheckedLoadBalancer): Map<string, { spec: string; rules: ChainRules }> {
  return new Map([
    [
      'prerouting',
      { spec: 'type nat hook prerouting priority dstnat; policy accept;', rules: ['ip daddr vmap @vips'] },
    ],
    [
      'postrouting',
      {
        spec: 'type nat hook postrouting priority srcnat; policy accept;',
        rules: [`ct status dnat snat to ${lb.address}`],
      },
    ],
  ])
}

/** The service chain and its backend chains (weight 0 ones too), in write order. */
export function serviceChains(svc: CheckedService): Map<string, ChainRules> {
  const out = new Map<string, ChainRules>()
  for (const b of svc.backends) out.set(lbBackendChain(svc.chain, b.ip), [`dnat to ${b.ip}`])
  const live = svc.backends.filter((b) => b.weight > 0)
  out.set(
    svc.chain,
    live.length === 0
      ? ['meta l4proto tcp reject with tcp reset', 'reject with icmp type port-unreachable']
      : [
          `numgen random mod ${live.length} vmap { ${live
            .map((b, i) => `${i} : goto ${lbBackendChain(svc.chain, b.ip)}`)
            .join(', ')} }`,
        ],
  )
  return out
}

const same = (a: readonly string[] | undefined, b: readonly string[]): boolean =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

function chainBlock(name: string, rules: ChainRules, spec?: string): string[] {
  return [
    `  chain ${name} {`,
    ...(spec === undefined ? [] : [`    ${spec}`]),
    ...rules.map((r) => `    ${withComment(r)}`),
    '  }',
  ]
}

/** The whole table, replacing whatever is there, in one transaction. */
export function fullLbScript(lb: CheckedLoadBalancer): string {
  const elements = lb.services.map((s) => `${s.vip} : goto ${s.chain}`)
  const lines = [`table ${T} {}`, `delete table ${T}`, `table ${T} {`, '  map vips {']
  lines.push('    type ipv4_addr : verdict')
  if (elements.length > 0) lines.push(`    elements = { ${elements.join(', ')} }`)
  lines.push('  }')
  for (const [name, c] of skeleton(lb)) lines.push(...chainBlock(name, c.rules, c.spec))
  for (const svc of lb.services)
    for (const [name, rules] of serviceChains(svc)) lines.push(...chainBlock(name, rules))
  lines.push('}')
  return lines.join('\n')
}

/** True when the base chains and the map are as desired (incremental updates are safe). */
export function skeletonMatches(lb: CheckedLoadBalancer, observed: ObservedLbTable | undefined): boolean {
  if (observed?.vips === undefined) return false
  for (const [name, c] of skeleton(lb))
    if (!same(observed.chains.get(name), commentsOf(c.rules))) return false
  return true
}

/**
 * The nft script that brings the table to `lb`, or undefined when it already matches.
 * Touches only the services whose chains or map element differ.
 */
export function lbNftScript(
  lb: CheckedLoadBalancer,
  observed: ObservedLbTable | undefined,
): string | undefined {
  if (observed === undefined || observed.vips === undefined || !skeletonMatches(lb, observed))
    return fullLbScript(lb)
  const vips = observed.vips
  const wantVips = new Map(lb.services.map((s) => [s.vip, s.chain]))
  const wantChains = new Map<string, ChainRules>()
  for (const svc of lb.services) for (const [name, rules] of serviceChains(svc)) wantChains.set(name, rules)

  const lines: string[] = []
  for (const [vip, target] of vips)
    if (wantVips.get(vip) !== target) lines.push(`delete element ${T} vips { ${vip} }`)
  // backend chains come before their service chain in wantChains (serviceChains' order)
  for (const [name, rules] of wantChains) {
    const have = observed.chains.get(name)
    if (same(have, commentsOf(rules))) continue
    if (have === undefined) lines.push(`add chain ${T} ${name}`)
    else lines.push(`flush chain ${T} ${name}`)
    for (const r of rules) lines.push(`add rule ${T} ${name} ${withComment(r)}`)
  }
  for (const [vip, chain] of wantVips)
    if (vips.get(vip) !== chain) lines.push(`add element ${T} vips { ${vip} : goto ${chain} }`)
  const stale = [...observed.chains.keys()].filter((n) => n.startsWith('svc-') && !wantChains.has(n))
  for (const name of stale) lines.push(`flush chain ${T} ${name}`)
  for (const name of stale) lines.push(`delete chain ${T} ${name}`)
  return lines.length === 0 ? undefined : lines.join('\n')
}

/**
 * Backends the kernel still has (a chain `svc-<skey>-<ip>`) that `lb` no longer lists
 * for that service: (VIP when known, backend IP).
 */
export function departedNftBackends(
  lb: CheckedLoadBalancer,
  observed: ObservedLbTable | undefined,
): { vip: string | undefined; ip: string }[] {
  if (observed === undefined) return []
  const wanted = new Set<string>()
  const vipOfChain = new Map<string, string>()
  for (const [vip, chain] of observed.vips ?? []) vipOfChain.set(chain, vip)
  for (const svc of lb.services) {
    if (!vipOfChain.has(svc.chain)) vipOfChain.set(svc.chain, svc.vip)
    for (const b of svc.backends) wanted.add(lbBackendChain(svc.chain, b.ip))
  }
  const out: { vip: string | undefined; ip: string }[] = []
  for (const name of observed.chains.keys()) {
    const m = /^(svc-[a-z0-9-]+)-(\d+\.\d+\.\d+\.\d+)$/.exec(name)
    if (m?.[1] === undefined || m[2] === undefined || wanted.has(name)) continue
    out.push({ vip: vipOfChain.get(m[1]), ip: m[2] })
  }
  return out
}
