/**
 * The host namespace's part of the ingress routing mesh (§5.4): `table ip swarmnet-ingress`,
 * owned by the ingress planner alone, and — on hosts with an iptables filter table — one
 * chain of ours in it.
 *
 *   set ports      { inet_proto . inet_service }                 ingress-mode published ports
 *   map hostports  { proto . port : gateway-leg address . target } host-mode ports of local tasks
 *   chain prerouting / output (nat, dstnat): to a local address (not 127.0.0.0/8),
 *     a published port → DNAT to the ingress namespace's gateway address (same port);
 *     a host-mode port → DNAT to the task's gateway leg and target port (no SNAT: the task
 *     sees the client's address)
 *   chain postrouting (nat, srcnat): DNATed traffic the node itself sent out of the gateway
 *     bridge is masqueraded (its source would otherwise be an underlay address the
 *     namespace answers through the bridge anyway, or 127/8 it cannot answer at all)
 *   chain forward (filter): FIRST `jump user`, then the accepts of the published traffic
 *   chain user: the operators' (Docker's DOCKER-USER): `nft add rule ip swarmnet-ingress user
 *     ip saddr 198.51.100.0/24 drop` filters who reaches published ports. The planner creates
 *     it when missing (`add chain`, which keeps its rules) and never flushes, rewrites or
 *     deletes it — so this table is never replaced whole: missing chains are added, rules of
 *     OUR chains rewritten when they differ, elements changed by delta (nft-delta.ts order).
 *     Only the removal of the whole mesh deletes the table, user chain included.
 *
 * iptables: an accept in our own nft table cannot overcome a DROP in iptables' FORWARD (a
 * packet must pass every base chain of the hook), so where `iptables-save` shows a filter
 * table our chain SWARMNET-FORWARD accepts traffic to the gateway bridge that was DNATed or
 * is RELATED,ESTABLISHED, and traffic from the bridge to elsewhere, and ONE
 * `-I FORWARD -j SWARMNET-FORWARD` jumps to it; nothing else outside our chain is touched.
 * One `iptables-restore --noflush` carries it: chain created if missing, flushed and filled
 * only when its rules differ, the jump inserted when missing (extra copies deleted).
 * Without iptables, or without a filter table, nothing is done.
 */

import { INGRESS_T } from './ingress-nft.js'
import { INGRESS_USER_CHAIN, IPTABLES_FORWARD_CHAIN } from './names.js'
import { commentsOf, type NftTable, type NftTableShape, nftDelta } from './nft-delta.js'
import type { Step } from './plan.js'
import type { CheckedIngress, NodeConfig } from './spec.js'

/** The filter table as `iptables-save` shows it (undefined: no iptables or no filter table). */
export interface ObservedIptables {
  /** Rules of our chain, as `-A SWARMNET-FORWARD …` lines; undefined when the chain does not exist. */
  readonly chain: readonly string[] | undefined
  /** How many `-A FORWARD -j SWARMNET-FORWARD` there are. */
  readonly jumps: number
}

const BASE: ReadonlyMap<string, string> = new Map([
  ['prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
  ['output', 'type nat hook output priority -100; policy accept;'],
  ['postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
  ['forward', 'type filter hook forward priority filter; policy accept;'],
])

const HOST_SHAPE: NftTableShape = {
  table: INGRESS_T,
  declare: (name) =>
    name === 'hostports'
      ? 'type inet_proto . inet_service : ipv4_addr . inet_service;'
      : 'type inet_proto . inet_service;',
  owns: (name) => name === 'ports' || name === 'hostports',
}

/** The rules of our four chains. */
export function hostIngressRules(gatewayIp: string, cfg: NodeConfig): Map<string, string[]> {
  const local = 'fib daddr type local ip daddr != 127.0.0.0/8'
  const dnat = [
    `${local} meta l4proto . th dport @ports dnat to ${gatewayIp}`,
    `${local} dnat to meta l4proto . th dport map @hostports`,
  ]
  const br = `"${cfg.gatewayBridge}"`
  return new Map([
    ['prerouting', dnat],
    ['output', dnat],
    ['postrouting', [`ct status dnat oifname ${br} fib saddr type local masquerade`]],
    [
      'forward',
      [
        `jump ${INGRESS_USER_CHAIN}`,
        `ct status dnat oifname ${br} accept`,
        `iifname ${br} ct state established,related accept`,
      ],
    ],
  ])
}

/**
 * The host table `ingress` wants; host-mode ports whose endpoint has no gateway address in
 * `gatewayIps` are left out (and named in `missing`).
 */
export function hostIngressTable(
  ingress: CheckedIngress,
  cfg: NodeConfig,
  gatewayIps: ReadonlyMap<string, string>,
): { table: NftTable; missing: string[] } {
  const missing: string[] = []
  const hostports = new Map<string, string>()
  for (const p of ingress.hostPorts) {
    const addr = gatewayIps.get(p.endpointId)
    if (addr === undefined) missing.push(p.endpointId)
    else hostports.set(`${p.protocol} . ${p.published}`, `${addr} . ${p.target}`)
  }
  const chains = new Map<string, readonly string[]>(
    [...hostIngressRules(ingress.gatewayIp, cfg)].map(([name, rules]) => [name, commentsOf(rules)]),
  )
  // the operators' chain exists (its rules are nobody's business here)
  chains.set(INGRESS_USER_CHAIN, [])
  const ports = new Set(ingress.ports.map((p) => `${p.protocol} . ${p.published}`))
  return {
    table: { chains, sets: new Map([['ports', ports]]), maps: new Map([['hostports', hostports]]) },
    missing,
  }
}

const EMPTY: NftTable = { chains: new Map(), sets: new Map(), maps: new Map() }

/**
 * The script from `have` (the host table as read; undefined when absent) to `want`:
 * the table and missing chains added first (`add` keeps what exists, the user chain's
 * rules included), then the delta. Undefined when nothing differs.
 */
export function hostIngressScript(
  want: NftTable,
  rules: ReadonlyMap<string, readonly string[]>,
  have: NftTable | undefined,
): string | undefined {
  const cur = have ?? EMPTY
  const ensure: string[] = []
  if (have === undefined) ensure.push(`add table ${INGRESS_T}`)
  if (!cur.chains.has(INGRESS_USER_CHAIN)) ensure.push(`add chain ${INGRESS_T} ${INGRESS_USER_CHAIN}`)
  for (const [name, spec] of BASE)
    if (!cur.chains.has(name)) ensure.push(`add chain ${INGRESS_T} ${name} { ${spec} }`)
  const delta = nftDelta(HOST_SHAPE, cur, want, rules)
  const lines = [...ensure, ...(delta === undefined ? [] : [delta])]
  return lines.length === 0 ? undefined : lines.join('\n')
}

/** Removes the host table (the whole mesh goes: the user chain with it). */
export const hostIngressRemoval = (): string => `table ${INGRESS_T} {}\ndelete table ${INGRESS_T}`

/** Our chain's rules, as `iptables-save` prints them. */
export function iptablesRules(cfg: NodeConfig): string[] {
  const br = cfg.gatewayBridge
  const C = IPTABLES_FORWARD_CHAIN
  return [
    `-A ${C} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${C} -o ${br} -m conntrack --ctstate DNAT -j ACCEPT`,
    `-A ${C} -i ${br} ! -o ${br} -j ACCEPT`,
  ]
}

const iptables = (line: string): Step => ({ tool: 'iptables', args: line.split(' ') })
const JUMP = `FORWARD -j ${IPTABLES_FORWARD_CHAIN}`

/** The `iptables-restore --noflush` lines for `want` (the mesh wanted or not) from `have`. */
export function planIptables(cfg: NodeConfig, want: boolean, have: ObservedIptables | undefined): Step[] {
  if (have === undefined) return []
  const C = IPTABLES_FORWARD_CHAIN
  const out: Step[] = []
  if (!want) {
    for (let i = 0; i < have.jumps; i++) out.push(iptables(`-D ${JUMP}`))
    if (have.chain !== undefined) out.push(iptables(`-F ${C}`), iptables(`-X ${C}`))
    return out
  }
  const rules = iptablesRules(cfg)
  if (have.chain === undefined) out.push(iptables(`-N ${C}`))
  const same = have.chain !== undefined && have.chain.join('\n') === rules.join('\n')
  if (!same) {
    if (have.chain !== undefined) out.push(iptables(`-F ${C}`))
    for (const r of rules) out.push(iptables(r))
  }
  if (have.jumps === 0) out.push(iptables(`-I FORWARD 1 -j ${C}`))
  for (let i = 1; i < have.jumps; i++) out.push(iptables(`-D ${JUMP}`))
  return out
}

/** `iptables-save` output → our chain and the jumps to it; undefined without a filter table. */
export function parseIptables(stdout: string): ObservedIptables | undefined {
  const lines = stdout.split('\n').map((l) => l.trim())
  const start = lines.indexOf('*filter')
  if (start < 0) return undefined
  const C = IPTABLES_FORWARD_CHAIN
  let chain: string[] | undefined
  let jumps = 0
  for (const line of lines.slice(start + 1)) {
    if (line === 'COMMIT') break
    if (line === `-A ${JUMP}`) jumps++
    else if (line.startsWith(`:${C} `) || line.startsWith(`-A ${C} `)) {
      chain ??= []
      if (line.startsWith('-A')) chain.push(line)
    }
  }
  return { chain, jumps }
}
