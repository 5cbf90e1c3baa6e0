/**
 * The IPVS backend of the service load balancer (Docker's §5.2 shape), for kernels with
 * IPVS: in the LB namespace `table ip swarmnet-lb` marks packets to a VIP with the
 * service's firewall mark (`meta mark set ip daddr map @marks`, hook input, priority
 * mangle: Docker's `mangle INPUT -d VIP -j MARK`), IPVS balances each mark round robin
 * over masqueraded destinations (weight 0 = draining), and postrouting SNATs IPVS traffic
 * (it still carries its mark) to the LB address. With no usable destination IPVS answers
 * ICMP port-unreachable itself, which a TCP client sees as "connection refused".
 *
 * Firewall marks: Docker counts from 256 per node, which a restarted agent cannot
 * reproduce without a record. Here a mark is derived from the service id alone — 0x100 +
 * (first 32 bits of SHA-256(id) mod (2^31 − 0x100)) — so every reconcile computes the same
 * marks with no state; marks only need to be unique within one LB namespace (IPVS and
 * nft are per namespace). A collision (odds about 2 % among 10 000 services on one network)
 * is settled by probing upward in service-id order; only then can a mark move (when the
 * service it yielded to goes), which recreates that one IPVS service.
 *
 * Order, and why: the nft table first (replaced whole when its skeleton differs, else only
 * the map elements that changed), then one `ipvsadm -R` batch — services that go,
 * services that come, then destinations removed, added, re-weighted, so each destination
 * is added after its service exists. A mark briefly set before its IPVS service exists is
 * harmless: IPVS ignores the packet and the LB's own stack refuses it.
 */
import { createHash } from 'node:crypto'
import { NFT_LB_TABLE } from './names.js'
import type { IpvsService, ObservedLbTable } from './observe-lb.js'
import type { CheckedLoadBalancer } from './spec.js'

const T = `ip ${NFT_LB_TABLE}`
export const FWMARK_BASE = 0x100
const FWMARK_SPAN = 2 ** 31 - FWMARK_BASE

/** Firewall mark per service id (see the module note). */
export function fwmarks(serviceIds: readonly string[]): Map<string, number> {
  const out = new Map<string, number>()
  const used = new Set<number>()
  for (const id of [...serviceIds].sort()) {
    const h = createHash('sha256').update(id).digest().readUInt32BE(0)
    let offset = h % FWMARK_SPAN
    while (used.has(FWMARK_BASE + offset)) offset = (offset + 1) % FWMARK_SPAN
    used.add(FWMARK_BASE + offset)
    out.set(id, FWMARK_BASE + offset)
  }
  return out
}

const commentOf = (rule: string): string =>
  `sn:${createHash('sha256').update(rule).digest('hex').slice(0, 12)}`

function baseChains(lb: CheckedLoadBalancer): [string, string, string][] {
  const subnet = `${lb.network.subnet.address}/${lb.network.subnet.prefix}`
  return [
    ['input', 'type filter hook input priority mangle; policy accept;', 'meta mark set ip daddr map @marks'],
    [
      'postrouting',
      'type nat hook postrouting priority srcnat; policy accept;',
      `ip daddr ${subnet} meta mark != 0 snat to ${lb.address}`,
    ],
  ]
}

/** Map `marks` of a table (VIP → firewall mark), when it exists. */
function marksOf(table: ObservedLbTable | undefined): Map<string, number> | undefined {
  const m = table?.maps.get('marks')
  return m === undefined ? undefined : new Map([...m].map(([vip, mark]) => [vip, Number(mark)]))
}

/** The nft script for the IPVS backend, or undefined when the table already matches. */
export function ipvsNftScript(
  lb: CheckedLoadBalancer,
  observed: ObservedLbTable | undefined,
): string | undefined {
  const marks = fwmarks(lb.services.map((s) => s.id))
  const want = new Map(lb.services.map((s) => [s.vip, marks.get(s.id) as number]))
  const chains = baseChains(lb)
  const have = marksOf(observed)
  const skeletonOk =
    observed !== undefined &&
    have !== undefined &&
    observed.sets.size === 0 &&
    observed.maps.size === 1 &&
    chains.every(([name, , rule]) => {
      const rules = observed.chains.get(name)
      return rules?.length === 1 && rules[0] === commentOf(rule)
    }) &&
    observed.chains.size === chains.length
  if (!skeletonOk || have === undefined) {
    const elements = [...want].map(([vip, mark]) => `${vip} : ${mark}`)
    const lines = [
      `table ${T} {}`,
      `delete table ${T}`,
      `table ${T} {`,
      '  map marks {',
      '    type ipv4_addr : mark',
    ]
    if (elements.length > 0) lines.push(`    elements = { ${elements.join(', ')} }`)
    lines.push('  }')
    for (const [name, spec, rule] of chains)
      lines.push(`  chain ${name} {`, `    ${spec}`, `    ${rule} comment "${commentOf(rule)}"`, '  }')
    lines.push('}')
    return lines.join('\n')
  }
  const lines: string[] = []
  for (const [vip, mark] of have)
    if (want.get(vip) !== mark) lines.push(`delete element ${T} marks { ${vip} }`)
  for (const [vip, mark] of want)
    if (have.get(vip) !== mark) lines.push(`add element ${T} marks { ${vip} : ${mark} }`)
  return lines.length === 0 ? undefined : lines.join('\n')
}

/** `ipvsadm` argument lists that bring IPVS from `observed` to `lb`. */
export function ipvsCommands(lb: CheckedLoadBalancer, observed: readonly IpvsService[]): string[][] {
  const marks = fwmarks(lb.services.map((s) => s.id))
  const have = new Map(observed.map((s) => [s.fwmark, s]))
  const wanted = new Set(marks.values())
  const del: string[][] = []
  const add: string[][] = []
  const dests: string[][] = []
  for (const s of observed) if (!wanted.has(s.fwmark)) del.push(['-D', '-f', String(s.fwmark)])
  for (const svc of lb.services) {
    const f = ['-f', String(marks.get(svc.id))]
    const cur = have.get(marks.get(svc.id) as number)
    if (cur === undefined) add.push(['-A', ...f, '-s', 'rr'])
    else if (cur.scheduler !== 'rr') add.push(['-E', ...f, '-s', 'rr'])
    const curDests = new Map((cur?.dests ?? []).map((d) => [d.ip, d]))
    const wantIps = new Set(svc.backends.map((b) => b.ip))
    for (const d of cur?.dests ?? []) if (!wantIps.has(d.ip)) dests.push(['-d', ...f, '-r', `${d.ip}:0`])
    for (const b of svc.backends) {
      const d = curDests.get(b.ip)
      const spec = ['-r', `${b.ip}:0`, '-m', '-w', String(b.weight)]
      if (d === undefined) dests.push(['-a', ...f, ...spec])
      else if (d.weight !== b.weight || d.forward !== 'm') dests.push(['-e', ...f, ...spec])
    }
  }
  return [...del, ...add, ...dests]
}

/** Destinations IPVS still has that `lb` no longer lists: (VIP when known, backend IP). */
export function departedIpvsBackends(
  lb: CheckedLoadBalancer,
  observed: readonly IpvsService[],
  table: ObservedLbTable | undefined,
): { vip: string | undefined; ip: string }[] {
  const marks = fwmarks(lb.services.map((s) => s.id))
  const vipOfMark = new Map<number, string>()
  for (const [vip, mark] of marksOf(table) ?? []) vipOfMark.set(mark, vip)
  const wanted = new Map<number, Set<string>>()
  for (const svc of lb.services) {
    const mark = marks.get(svc.id) as number
    if (!vipOfMark.has(mark)) vipOfMark.set(mark, svc.vip)
    wanted.set(mark, new Set(svc.backends.map((b) => b.ip)))
  }
  return observed.flatMap((s) =>
    s.dests
      .filter((d) => wanted.get(s.fwmark)?.has(d.ip) !== true)
      .map((d) => ({ vip: vipOfMark.get(s.fwmark), ip: d.ip })),
  )
}
