/**
 * Observation of the service load balancers: per LB namespace its links and addresses
 * (`ip -j`), its own nft table (`nft -j list table ip swarmnet-lb`), the sysctls the LB
 * planner sets, and — with the IPVS backend — `ipvsadm-save -n`. Parsed by pure functions,
 * read afresh on every reconcile: the kernel records which backends an LB had (set
 * `backends`, IPVS destinations), so the periodic reconcile finds departures there.
 */
import type { AbortOptions } from '@swarmnet/interface'
import { CommandFailedError } from './errors.js'
import type { Executor } from './executor.js'
import { GATEWAY_LEG, LB_LEG, NFT_INGRESS_TABLE, NFT_LB_TABLE } from './names.js'
import { type ObservedNamespace, parseJsonLines, parseLinks, parseRoutes } from './observe.js'

/** Our nft table in an LB namespace; elements and values as nft text (`10.0.1.5 . 0`). */
export interface ObservedLbTable {
  /** Every chain of the table → the comments of its rules, in order. */
  readonly chains: ReadonlyMap<string, readonly string[]>
  /** Every set → its elements. */
  readonly sets: ReadonlyMap<string, ReadonlySet<string>>
  /** Every map → its elements (key → value). */
  readonly maps: ReadonlyMap<string, ReadonlyMap<string, string>>
}

export interface IpvsDest {
  readonly ip: string
  readonly weight: number
  /** `-m` masquerade, `-g` route, `-i` tunnel. */
  readonly forward: 'm' | 'g' | 'i'
}

/** One fwmark virtual service as `ipvsadm-save -n` prints it. */
export interface IpvsService {
  readonly fwmark: number
  readonly scheduler: string
  readonly dests: readonly IpvsDest[]
}

export interface ObservedLoadBalancer extends ObservedNamespace {
  /** Undefined when the table does not exist. */
  readonly nft: ObservedLbTable | undefined
  /** The sysctls of {@link LB_SYSCTL_KEYS} that exist in the namespace. */
  readonly sysctls: ReadonlyMap<string, string>
  /** Fwmark services; undefined when IPVS was not read (nftables backend) or not readable. */
  readonly ipvs: readonly IpvsService[] | undefined
  /** The ingress table (`ip swarmnet-ingress`), when read and present. */
  readonly ingress?: ObservedLbTable | undefined
}

/** Every sysctl the LB planner may set (the `vs` ones exist only with IPVS). */
export const LB_SYSCTL_KEYS = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.send_redirects',
  `net.ipv4.conf.${LB_LEG}.send_redirects`,
  'net.ipv4.vs.conn_reuse_mode',
  'net.ipv4.vs.expire_nodest_conn',
  'net.ipv4.vs.expire_quiescent_template',
  'net.ipv4.vs.conntrack',
] as const

type Json = Record<string, unknown>
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {}
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** An element, key or value of `nft -j` output as nft text: `10.0.1.5`, `10.0.1.5 . 0`, `goto svc`. */
export function nftText(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v)
  const o = obj(v)
  if (Array.isArray(o.concat)) return o.concat.map(nftText).join(' . ')
  // an element with options (timeout, comment) wraps its value
  if ('elem' in o) return nftText(obj(o.elem).val)
  for (const verdict of ['goto', 'jump'] as const)
    if (verdict in o) return `${verdict} ${nftText(obj(o[verdict]).target)}`
  return JSON.stringify(v)
}

/**
 * `nft -j list table ip swarmnet-lb` → chains with their rule comments, sets and maps; with
 * `table`, that table of a longer listing (`nft -j list ruleset`), undefined when absent.
 */
export function parseLbTable(json: unknown): ObservedLbTable
export function parseLbTable(json: unknown, table: string): ObservedLbTable | undefined
export function parseLbTable(json: unknown, table?: string): ObservedLbTable | undefined {
  const name = table ?? NFT_LB_TABLE
  if (table !== undefined) {
    const found = arr(obj(json).nftables).some((i) => {
      const t = obj(obj(i).table)
      return t.family === 'ip' && t.name === name
    })
    if (!found) return undefined
  }
  const chains = new Map<string, string[]>()
  const sets = new Map<string, Set<string>>()
  const maps = new Map<string, Map<string, string>>()
  const items = arr(obj(json).nftables).map(obj)
  for (const item of items) {
    const chain = obj(item.chain)
    if (chain.table === name && chain.family === 'ip' && typeof chain.name === 'string')
      chains.set(chain.name, [])
  }
  for (const item of items) {
    const rule = obj(item.rule)
    if (rule.table === name && rule.family === 'ip' && typeof rule.chain === 'string') {
      chains.get(rule.chain)?.push(typeof rule.comment === 'string' ? rule.comment : '')
    }
    const set = obj(item.set)
    if (set.table === name && set.family === 'ip' && typeof set.name === 'string')
      sets.set(set.name, new Set(arr(set.elem).map(nftText)))
    const map = obj(item.map)
    if (map.table === name && map.family === 'ip' && typeof map.name === 'string') {
      const elems = new Map<string, string>()
      for (const e of arr(map.elem)) {
        const [key, value] = arr(e)
        elems.set(nftText(key), nftText(value))
      }
      maps.set(map.name, elems)
    }
  }
  return { chains, sets, maps }
}

/** `sysctl k1 k2 …` output (`key = value` lines). */
export function parseSysctls(stdout: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const m = /^\s*([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line)
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2])
  }
  return out
}

/**
 * `ipvsadm-save -n` → fwmark services (other services are not ours and are skipped).
 * Lines look like `-A -f 256 -s rr` and `-a -f 256 -r 10.0.1.5:0 -m -w 1`.
 */
export function parseIpvsSave(stdout: string): IpvsService[] {
  const services = new Map<number, { fwmark: number; scheduler: string; dests: IpvsDest[] }>()
  for (const line of stdout.split('\n')) {
    const t = line.trim().split(/\s+/)
    const opt = (flag: string): string | undefined => {
      const i = t.indexOf(flag)
      return i < 0 ? undefined : t[i + 1]
    }
    const mark = Number(opt('-f'))
    if (!Number.isInteger(mark) || mark <= 0) continue
    if (t[0] === '-A') {
      services.set(mark, { fwmark: mark, scheduler: opt('-s') ?? '', dests: [] })
    } else if (t[0] === '-a') {
      const real = opt('-r')
      const m = real === undefined ? null : /^(\d+\.\d+\.\d+\.\d+)(?::\d+)?$/.exec(real)
      if (m?.[1] === undefined) continue
      const forward = t.includes('-g') ? 'g' : t.includes('-i') ? 'i' : 'm'
      services.get(mark)?.dests.push({ ip: m[1], weight: Number(opt('-w') ?? 1), forward })
    }
  }
  return [...services.values()]
}

/**
 * One LB namespace. Its ingress table is read when `readIngress` (it is the ingress
 * namespace), or when it has a gateway-bridge leg (it was one).
 */
export async function observeLoadBalancer(
  exec: Executor,
  netns: string,
  readIpvs: boolean,
  options?: AbortOptions,
  readIngress = false,
): Promise<ObservedLoadBalancer> {
  const inNs = ['ip', 'netns', 'exec', netns]
  const listIngress = () =>
    exec.tryRun([...inNs, 'nft', '-j', 'list', 'table', 'ip', NFT_INGRESS_TABLE], options)
  try {
    const early = readIngress ? listIngress() : undefined
    const [ipOut, nftOut, sysOut, ipvsOut] = await Promise.all([
      exec.run(['ip', '-j', '-d', '-n', netns, '-batch', '-'], {
        input: 'link show\naddr show\nroute show\n',
        ...options,
      }),
      exec.tryRun([...inNs, 'nft', '-j', 'list', 'table', 'ip', NFT_LB_TABLE], options),
      exec.tryRun([...inNs, 'sysctl', '-e', ...LB_SYSCTL_KEYS], options),
      readIpvs ? exec.tryRun([...inNs, 'ipvsadm-save', '-n'], options) : undefined,
    ])
    const [links = [], addrs = [], routes = []] = parseJsonLines(ipOut.stdout)
    const parsedLinks = parseLinks(links, addrs)
    const ingressOut = early ?? (parsedLinks.has(GATEWAY_LEG) ? listIngress() : undefined)
    const ing = await ingressOut
    return {
      netns,
      broken: false,
      ingress: ing?.exitCode === 0 ? parseLbTable(JSON.parse(ing.stdout), NFT_INGRESS_TABLE) : undefined,
      links: parsedLinks,
      neigh: [],
      fdb: [],
      routes: parseRoutes(routes),
      nft: nftOut.exitCode === 0 ? parseLbTable(JSON.parse(nftOut.stdout)) : undefined,
      sysctls: parseSysctls(sysOut.stdout),
      ipvs: ipvsOut?.exitCode === 0 ? parseIpvsSave(ipvsOut.stdout) : undefined,
    }
  } catch (err) {
    if (!(err instanceof CommandFailedError)) throw err
    const none = { links: new Map(), neigh: [], fdb: [], routes: [] }
    return { netns, broken: true, ...none, nft: undefined, sysctls: new Map(), ipvs: undefined }
  }
}
