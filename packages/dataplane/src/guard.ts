/**
 * Planner for the vxlan guard: the host's own nft table `ip swarmnet-vxlan`, present while
 * the node carries an overlay network.
 *
 * - input (priority raw): vxlan (UDP on the data-path port) from an address that is not an
 *   admitted node's underlay address is counted (`nonmember`) and dropped — member-only
 *   admission, for every network, encrypted or not; vxlan of an encrypted VNI that did not
 *   arrive inside ESP (`meta ipsec missing`) is counted (`cleartext`) and dropped.
 * - output (type route, priority mangle): vxlan of an encrypted VNI (`@th,96,24`: the VNI,
 *   12 bytes into the UDP header) gets the mark the xfrm policies match, and is re-routed
 *   through them (xfrm.ts).
 * - postrouting: a marked vxlan packet whose route has no xfrm (no policy for that peer yet,
 *   keys not delivered, a failed step) is counted (`unencrypted`) and dropped: fail closed,
 *   never cleartext (moby CVE-2023-28841).
 *
 * Order: the set of members is unknown until the manager answered once; until then the
 * admission rule is left out (the rule set then differs, and the table is replaced when it is
 * known). A change of the rules replaces the whole table in one transaction; a change of set
 * elements only flushes and refills the sets (also one transaction), so counters survive.
 * Every rule carries `comment "sn:<name>:<hash of its text>"`, so observation tells a
 * missing or outdated rule from the right one without a shadow copy.
 */
import { createHash } from 'node:crypto'
import { NFT_GUARD_TABLE } from './names.js'
import type { ObservedGuard } from './observe-xfrm.js'
import type { Plan, Step } from './plan.js'
import { XFRM_MARK } from './xfrm.js'

/** What the guard must hold. */
export interface GuardSpec {
  readonly dataPathPort: number
  /** Underlay addresses of admitted nodes; undefined: not known yet (no admission rule). */
  readonly members: readonly string[] | undefined
  /** VNIs of the encrypted networks this node carries. */
  readonly encryptedVnis: readonly number[]
}

/** The named counters of the guard table. */
export const GUARD_COUNTERS = ['nonmember', 'cleartext', 'unencrypted'] as const

interface Rule {
  readonly chain: 'in' | 'out' | 'post'
  readonly name: string
  readonly text: string
}

const CHAINS = {
  in: 'type filter hook input priority raw; policy accept;',
  out: 'type route hook output priority mangle; policy accept;',
  post: 'type filter hook postrouting priority filter; policy accept;',
} as const

const mark = `0x${XFRM_MARK.toString(16)}`

function rules(spec: GuardSpec): Rule[] {
  const udp = `udp dport ${spec.dataPathPort}`
  const out: Rule[] = []
  if (spec.members !== undefined)
    out.push({
      chain: 'in',
      name: 'members',
      text: `${udp} ip saddr != @members counter name "nonmember" drop`,
    })
  out.push(
    {
      chain: 'in',
      name: 'cleartext',
      text: `${udp} @th,96,24 @encrypted-vnis meta ipsec missing counter name "cleartext" drop`,
    },
    { chain: 'out', name: 'mark', text: `${udp} @th,96,24 @encrypted-vnis meta mark set ${mark}` },
    {
      chain: 'post',
      name: 'unencrypted',
      text: `meta mark ${mark} ${udp} rt ipsec missing counter name "unencrypted" drop`,
    },
  )
  return out
}

const commentOf = (r: Rule): string =>
  `sn:${r.name}:${createHash('sha256').update(r.text).digest('hex').slice(0, 8)}`

/** The observation key of each desired rule, in listing order (chains in script order). */
export function desiredGuardRules(spec: GuardSpec): string[] {
  const rs = rules(spec)
  return (Object.keys(CHAINS) as Array<keyof typeof CHAINS>).flatMap((chain) =>
    rs.filter((r) => r.chain === chain).map((r) => `${chain}/${commentOf(r)}`),
  )
}

function setElements(spec: GuardSpec): Map<string, string[]> {
  return new Map([
    ['members', [...new Set(spec.members ?? [])].sort()],
    ['encrypted-vnis', [...new Set(spec.encryptedVnis.map(String))].sort()],
  ])
}

const elements = (list: readonly string[]): string =>
  list.length === 0 ? '' : ` elements = { ${list.join(', ')} }`

/** The whole table, replacing any previous one in the same transaction. */
export function guardScript(spec: GuardSpec): string {
  const sets = setElements(spec)
  const t = NFT_GUARD_TABLE
  const lines = [`table ip ${t} {}`, `delete table ip ${t}`, `table ip ${t} {`]
  lines.push(`  set members { type ipv4_addr;${elements(sets.get('members') ?? [])} }`)
  lines.push(`  set encrypted-vnis { typeof @th,96,24;${elements(sets.get('encrypted-vnis') ?? [])} }`)
  for (const c of GUARD_COUNTERS) lines.push(`  counter ${c} {}`)
  const rs = rules(spec)
  for (const [chain, head] of Object.entries(CHAINS)) {
    lines.push(`  chain ${chain} {`, `    ${head}`)
    for (const r of rs) if (r.chain === chain) lines.push(`    ${r.text} comment "${commentOf(r)}"`)
    lines.push('  }')
  }
  lines.push('}')
  return lines.join('\n')
}

const same = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** Ensures the guard table holds `spec`. */
export function planGuard(spec: GuardSpec, observed: ObservedGuard | undefined): Plan {
  if (observed === undefined || !same(observed.rules, desiredGuardRules(spec)))
    return { steps: [{ tool: 'nft', script: guardScript(spec) }], warnings: [] }
  const lines: string[] = []
  for (const [name, want] of setElements(spec)) {
    if (same(observed.sets.get(name) ?? [], want)) continue
    lines.push(`flush set ip ${NFT_GUARD_TABLE} ${name}`)
    if (want.length > 0) lines.push(`add element ip ${NFT_GUARD_TABLE} ${name} { ${want.join(', ')} }`)
  }
  const steps: Step[] = lines.length === 0 ? [] : [{ tool: 'nft', script: lines.join('\n') }]
  return { steps, warnings: [] }
}

/** Removes the guard table (the node carries no overlay any more). */
export function planGuardRemoval(observed: ObservedGuard | undefined): Plan {
  if (observed === undefined) return { steps: [], warnings: [] }
  return { steps: [{ tool: 'nft', script: `delete table ip ${NFT_GUARD_TABLE}` }], warnings: [] }
}
