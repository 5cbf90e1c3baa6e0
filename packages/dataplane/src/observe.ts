/**
 * Observation: the kernel is the truth. Everything is read with JSON output, one batch
 * process per namespace (`ip -j -d -n NS -batch -` with several `show` commands, one
 * JSON array per line), parsed by pure functions, and never cached between reconciles.
 * A namespace that cannot be entered is reported `broken` so planners rebuild it.
 */
import type { AbortOptions } from '@swarmnet/interface'
import { CommandFailedError } from './errors.js'
import type { Executor } from './executor.js'
import { type ObservedIptables, parseIptables } from './ingress-host.js'
import {
  LB_NS_PREFIX,
  NFT_INGRESS_TABLE,
  NFT_TABLE,
  NFT_TASK_TABLE,
  OVERLAY_NS_PREFIX,
  PREFIX,
  SANDBOX_NS_PREFIX,
  VXLAN,
  vniOfLbNamespace,
  vniOfOverlayNamespace,
} from './names.js'
import {
  type ObservedLbTable,
  type ObservedLoadBalancer,
  observeLoadBalancer,
  parseLbTable,
} from './observe-lb.js'
import { emptyXfrm, type ObservedGuard, type ObservedXfrm, observeXfrm, parseGuard } from './observe-xfrm.js'

export interface VxlanInfo {
  readonly id: number
  readonly port: number
  readonly local: string | undefined
  readonly learning: boolean
  readonly proxy: boolean
}

export interface LinkState {
  readonly name: string
  readonly ifindex: number
  readonly kind: string | undefined
  readonly master: string | undefined
  readonly mtu: number
  readonly mac: string
  readonly up: boolean
  readonly vxlan: VxlanInfo | undefined
  /** IPv4 addresses as `a.b.c.d/prefix`. */
  readonly addresses: readonly string[]
}

export interface NeighEntry {
  readonly ip: string
  readonly dev: string | undefined
  readonly mac: string | undefined
  readonly permanent: boolean
}

export interface FdbEntry {
  readonly mac: string
  readonly dev: string | undefined
  readonly dst: string | undefined
  readonly self: boolean
  readonly permanent: boolean
}

export interface RouteEntry {
  readonly dst: string
  readonly gateway: string | undefined
  readonly dev: string | undefined
}

export interface ObservedHost {
  readonly namespaces: readonly string[]
  readonly links: ReadonlyMap<string, LinkState>
  readonly ipForward: string | undefined
  /** Rules in our nftables tables as `family/chain/comment`, in listing order. */
  readonly nftRules: readonly string[]
  /** The vxlan guard table, when it exists. */
  readonly guard?: ObservedGuard | undefined
  /** The host's ingress table (`ip swarmnet-ingress`), when it exists. */
  readonly ingress?: ObservedLbTable | undefined
  /** iptables' filter table as far as it concerns us; undefined: not read, no iptables or no filter table. */
  readonly iptables?: ObservedIptables | undefined
}

export interface ObservedNamespace {
  readonly netns: string
  /** The namespace exists but could not be read (stale bind mount, …). */
  readonly broken: boolean
  readonly links: ReadonlyMap<string, LinkState>
  /** Neighbour entries on vxlan0 (overlays only). */
  readonly neigh: readonly NeighEntry[]
  /** `bridge fdb` entries on vxlan0 (overlays only). */
  readonly fdb: readonly FdbEntry[]
  readonly routes: readonly RouteEntry[]
  /** Sandboxes: rule comments of the task table's prerouting chain; undefined when not read or absent. */
  readonly taskRules?: readonly string[] | undefined
}

export interface ObservedNode {
  readonly host: ObservedHost
  /** Our overlay namespaces by VNI. */
  readonly overlays: ReadonlyMap<number, ObservedNamespace>
  /** Our sandbox namespaces by namespace name. */
  readonly sandboxes: ReadonlyMap<string, ObservedNamespace>
  /** Our service load balancer namespaces by VNI. */
  readonly loadBalancers: ReadonlyMap<number, ObservedLoadBalancer>
  /** Our ESP states and policies (host namespace). */
  readonly xfrm: ObservedXfrm
}

export interface ObserveOptions extends AbortOptions {
  /** Read IPVS in the LB namespaces too (the IPVS backend). */
  readonly ipvs?: boolean
  /**
   * Read our xfrm states and policies (a kernel without ESP can hold none: skipping them
   * saves a process per reconcile there). @default true
   */
  readonly xfrm?: boolean
  /** Read iptables' filter table (the mesh is wanted); it is also read when the host has an ingress table. */
  readonly iptables?: boolean
  /** The VNI of the ingress network: its LB namespace's ingress table is read. */
  readonly ingressVni?: number
  /** Sandbox namespaces whose task table (REDIRECTs) is read. */
  readonly taskTables?: ReadonlySet<string>
}

type Json = Record<string, unknown>

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {}

/** Splits the stdout of `ip -j -batch -`: one JSON array per command (an empty `netns list` prints nothing). */
export function parseJsonLines(stdout: string): unknown[][] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => arr(JSON.parse(line)))
}

export function parseLinks(
  links: readonly unknown[],
  addrs: readonly unknown[] = [],
): Map<string, LinkState> {
  const addresses = new Map<string, string[]>()
  for (const a of addrs.map(obj)) {
    const name = str(a.ifname)
    if (name === undefined) continue
    const list = arr(a.addr_info)
      .map(obj)
      .filter((i) => i.family === 'inet')
      .map((i) => `${str(i.local)}/${num(i.prefixlen)}`)
    addresses.set(name, list)
  }
  const out = new Map<string, LinkState>()
  for (const l of links.map(obj)) {
    const name = str(l.ifname)
    if (name === undefined) continue
    const info = obj(l.linkinfo)
    const kind = str(info.info_kind)
    const data = obj(info.info_data)
    const vxlan: VxlanInfo | undefined =
      kind === 'vxlan'
        ? {
            id: num(data.id) ?? -1,
            port: num(data.port) ?? -1,
            local: str(data.local),
            learning: data.learning === true,
            proxy: data.proxy === true,
          }
        : undefined
    out.set(name, {
      name,
      ifindex: num(l.ifindex) ?? -1,
      kind,
      master: str(l.master),
      mtu: num(l.mtu) ?? -1,
      mac: str(l.address) ?? '',
      up: arr(l.flags).includes('UP'),
      vxlan,
      addresses: addresses.get(name) ?? [],
    })
  }
  return out
}

export function parseNeigh(entries: readonly unknown[]): NeighEntry[] {
  return entries.map(obj).flatMap((n) => {
    const ip = str(n.dst)
    if (ip === undefined) return []
    return [{ ip, dev: str(n.dev), mac: str(n.lladdr), permanent: arr(n.state).includes('PERMANENT') }]
  })
}

export function parseFdb(entries: readonly unknown[]): FdbEntry[] {
  return entries.map(obj).flatMap((f) => {
    const mac = str(f.mac)
    if (mac === undefined) return []
    return [
      {
        mac,
        dev: str(f.ifname),
        dst: str(f.dst),
        self: arr(f.flags).includes('self'),
        permanent: f.state === 'permanent',
      },
    ]
  })
}

export function parseRoutes(entries: readonly unknown[]): RouteEntry[] {
  return entries.map(obj).flatMap((r) => {
    const dst = str(r.dst)
    return dst === undefined ? [] : [{ dst, gateway: str(r.gateway), dev: str(r.dev) }]
  })
}

export function parseNetnsList(entries: readonly unknown[]): string[] {
  return entries.map(obj).flatMap((n) => {
    const name = str(n.name)
    return name === undefined ? [] : [name]
  })
}

/** Rules of our own nft tables (`table ip|bridge swarmnet`) as `family/chain/comment`. */
export function parseNftRules(json: unknown): string[] {
  return arr(obj(json).nftables)
    .map((item) => obj(obj(item).rule))
    .filter((r) => r.table === NFT_TABLE && (r.family === 'ip' || r.family === 'bridge'))
    .map((r) => `${str(r.family)}/${str(r.chain)}/${str(r.comment) ?? ''}`)
}

const emptyNamespace = (netns: string, broken: boolean): ObservedNamespace => ({
  netns,
  broken,
  links: new Map(),
  neigh: [],
  fdb: [],
  routes: [],
})

/** `iptables-save`, undefined when iptables is missing or fails. */
async function readIptables(exec: Executor, options?: AbortOptions): Promise<ObservedIptables | undefined> {
  try {
    const out = await exec.tryRun(['iptables-save'], options)
    return out.exitCode === 0 ? parseIptables(out.stdout) : undefined
  } catch (err) {
    if (err instanceof CommandFailedError) return undefined
    throw err
  }
}

export async function observeHost(
  exec: Executor,
  options?: AbortOptions & { readonly iptables?: boolean },
): Promise<ObservedHost> {
  const early = options?.iptables === true ? readIptables(exec, options) : undefined
  const [ipOut, nftOut, sysctlOut] = await Promise.all([
    // netns list goes last: with no namespaces it prints nothing at all.
    exec.run(['ip', '-j', '-d', '-batch', '-'], { input: 'link show\naddr show\nnetns list\n', ...options }),
    exec.tryRun(['nft', '-j', 'list', 'ruleset'], options),
    exec.tryRun(['sysctl', '-n', 'net.ipv4.ip_forward'], options),
  ])
  const [links = [], addrs = [], netns = []] = parseJsonLines(ipOut.stdout)
  const ruleset: unknown = nftOut.exitCode === 0 ? JSON.parse(nftOut.stdout) : undefined
  const ingress = ruleset === undefined ? undefined : parseLbTable(ruleset, NFT_INGRESS_TABLE)
  return {
    namespaces: parseNetnsList(netns),
    links: parseLinks(links, addrs),
    ipForward: sysctlOut.exitCode === 0 ? sysctlOut.stdout.trim() : undefined,
    nftRules: ruleset === undefined ? [] : parseNftRules(ruleset),
    guard: parseGuard(ruleset),
    ingress,
    iptables: await (early ?? (ingress === undefined ? undefined : readIptables(exec, options))),
  }
}

export async function observeOverlay(
  exec: Executor,
  netns: string,
  options?: AbortOptions,
): Promise<ObservedNamespace> {
  try {
    const [ipOut, fdbOut] = await Promise.all([
      exec.run(['ip', '-j', '-d', '-n', netns, '-batch', '-'], {
        input: 'link show\naddr show\nneigh show\n',
        ...options,
      }),
      exec.run(['bridge', '-j', '-n', netns, 'fdb', 'show'], options),
    ])
    const [links = [], addrs = [], neigh = []] = parseJsonLines(ipOut.stdout)
    return {
      ...emptyNamespace(netns, false),
      links: parseLinks(links, addrs),
      neigh: parseNeigh(neigh).filter((n) => n.dev === VXLAN),
      fdb: parseFdb(parseJsonLines(fdbOut.stdout)[0] ?? []).filter((f) => f.dev === VXLAN),
    }
  } catch (err) {
    if (err instanceof CommandFailedError) return emptyNamespace(netns, true)
    throw err
  }
}

export async function observeSandbox(
  exec: Executor,
  netns: string,
  options?: AbortOptions,
  readTaskTable = false,
): Promise<ObservedNamespace> {
  try {
    const [out, nft] = await Promise.all([
      exec.run(['ip', '-j', '-d', '-n', netns, '-batch', '-'], {
        input: 'link show\naddr show\nroute show\n',
        ...options,
      }),
      readTaskTable
        ? exec.tryRun(
            ['ip', 'netns', 'exec', netns, 'nft', '-j', 'list', 'table', 'ip', NFT_TASK_TABLE],
            options,
          )
        : undefined,
    ])
    const [links = [], addrs = [], routes = []] = parseJsonLines(out.stdout)
    const task = nft?.exitCode === 0 ? parseLbTable(JSON.parse(nft.stdout), NFT_TASK_TABLE) : undefined
    return {
      ...emptyNamespace(netns, false),
      links: parseLinks(links, addrs),
      routes: parseRoutes(routes),
      taskRules: task?.chains.get('prerouting'),
    }
  } catch (err) {
    if (err instanceof CommandFailedError) return emptyNamespace(netns, true)
    throw err
  }
}

/** Host plus every namespace of ours (overlays, sandboxes, LBs), read in parallel. */
export async function observeNode(exec: Executor, options?: ObserveOptions): Promise<ObservedNode> {
  const [host, xfrm] = await Promise.all([
    observeHost(exec, { ...options, iptables: options?.iptables === true }),
    options?.xfrm === false ? emptyXfrm : observeXfrm(exec, options),
  ])
  const ours = host.namespaces.filter((n) => n.startsWith(PREFIX))
  const overlays = new Map<number, ObservedNamespace>()
  const sandboxes = new Map<string, ObservedNamespace>()
  const loadBalancers = new Map<number, ObservedLoadBalancer>()
  await Promise.all(
    ours.map(async (netns) => {
      const vni = vniOfOverlayNamespace(netns)
      if (vni !== undefined && netns.startsWith(OVERLAY_NS_PREFIX)) {
        overlays.set(vni, await observeOverlay(exec, netns, options))
      } else if (netns.startsWith(SANDBOX_NS_PREFIX)) {
        sandboxes.set(
          netns,
          await observeSandbox(exec, netns, options, options?.taskTables?.has(netns) === true),
        )
      } else if (netns.startsWith(LB_NS_PREFIX)) {
        const lbVni = vniOfLbNamespace(netns)
        if (lbVni !== undefined)
          loadBalancers.set(
            lbVni,
            await observeLoadBalancer(
              exec,
              netns,
              options?.ipvs === true,
              options,
              options?.ingressVni === lbVni,
            ),
          )
      }
    }),
  )
  return { host, overlays, sandboxes, loadBalancers, xfrm }
}
