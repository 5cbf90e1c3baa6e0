/**
 * Planner for one overlay network on this node: namespace `sn-ov-<vni>`, `br0` with the
 * gateway address, `vxlan0`, and the permanent neighbour + FDB entries of remote peers.
 *
 * Order, and why:
 * 1. A vxlan whose parameters drifted is deleted first, inside the namespace: its UDP
 *    socket lives in the host namespace, and the kernel refuses a second device with the
 *    same VNI and port there.
 * 2. Host batch: `netns add`, then the vxlan is created in the HOST namespace under a
 *    transient name (so its socket binds on the underlay) and moved into the namespace.
 * 3. Namespace batch: `br0` (created, MTU, up, exact address set), then the vxlan is
 *    renamed `vxlan0`, enslaved and brought up, then neighbour entries (same process).
 * 4. `bridge` batch: FDB entries MAC → VTEP.
 * Peers are derived from the FULL desired set: one neighbour entry per remote IP, one FDB
 * entry per remote MAC (several IPs may share a VTEP, moby#50106); anything else found on
 * vxlan0 is deleted; `replace` makes each add idempotent.
 */

import { BRIDGE, overlayNamespace, VXLAN, vxlanCreateName } from './names.js'
import type { ObservedHost, ObservedNamespace } from './observe.js'
import { bridge, ensureNamespace, grouped, ip, type Plan, type Step } from './plan.js'
import { type CheckedNetwork, type CheckedPeer, type NodeConfig, VXLAN_OVERHEAD } from './spec.js'

/** The MTU of a network that names none: this node's underlay MTU − the vxlan overhead. */
export function defaultOverlayMtu(cfg: NodeConfig): number {
  return cfg.underlayMtu - VXLAN_OVERHEAD
}

function vxlanMatches(cfg: NodeConfig, net: CheckedNetwork, ns: ObservedNamespace | undefined): boolean {
  const vx = ns?.links.get(VXLAN)?.vxlan
  return (
    vx !== undefined &&
    vx.id === net.vni &&
    vx.port === cfg.dataPathPort &&
    vx.local === cfg.advertiseAddress &&
    !vx.learning &&
    vx.proxy
  )
}

/** Neighbour and FDB steps for the full desired peer set against what vxlan0 holds. */
export function planPeers(
  net: CheckedNetwork,
  cfg: NodeConfig,
  observed: Pick<ObservedNamespace, 'neigh' | 'fdb'>,
): Plan {
  const ns = overlayNamespace(net.vni)
  const warnings: string[] = []
  const neighWant = new Map<string, string>()
  const fdbWant = new Map<string, string>()
  const remote: CheckedPeer[] = net.peers.filter((p) => p.vtep !== cfg.advertiseAddress)
  for (const p of remote) {
    const mac = neighWant.get(p.ip)
    if (mac === undefined) neighWant.set(p.ip, p.mac)
    else if (mac !== p.mac)
      warnings.push(`network ${net.id}: ${p.ip} claimed by ${mac} and ${p.mac}; keeping ${mac}`)
    const vtep = fdbWant.get(p.mac)
    if (vtep === undefined) fdbWant.set(p.mac, p.vtep)
    else if (vtep !== p.vtep)
      warnings.push(`network ${net.id}: ${p.mac} behind ${vtep} and ${p.vtep}; keeping ${vtep}`)
  }

  const neighSteps: Step[] = []
  const neighHave = new Map(observed.neigh.map((n) => [n.ip, n]))
  for (const n of observed.neigh) {
    if (!neighWant.has(n.ip)) neighSteps.push(ip(ns, 'neigh', 'del', n.ip, 'dev', VXLAN))
  }
  for (const [addr, mac] of neighWant) {
    const have = neighHave.get(addr)
    if (have?.mac !== mac || !have.permanent) {
      neighSteps.push(ip(ns, 'neigh', 'replace', addr, 'lladdr', mac, 'dev', VXLAN, 'nud', 'permanent'))
    }
  }

  const fdbSteps: Step[] = []
  const fdbHave = new Map<string, { dsts: string[]; permanent: boolean }>()
  for (const f of observed.fdb) {
    if (!f.self || f.dst === undefined) continue
    const entry = fdbHave.get(f.mac) ?? { dsts: [], permanent: true }
    entry.dsts.push(f.dst)
    entry.permanent &&= f.permanent
    fdbHave.set(f.mac, entry)
  }
  for (const [mac, have] of fdbHave) {
    const want = fdbWant.get(mac)
    for (const dst of have.dsts) {
      if (dst !== want) fdbSteps.push(bridge(ns, 'fdb', 'del', mac, 'dev', VXLAN, 'dst', dst, 'self'))
    }
  }
  for (const [mac, vtep] of fdbWant) {
    const have = fdbHave.get(mac)
    if (have === undefined || !have.permanent || !have.dsts.includes(vtep)) {
      fdbSteps.push(bridge(ns, 'fdb', 'replace', mac, 'dev', VXLAN, 'dst', vtep, 'self', 'permanent'))
    }
  }
  // neighbour and FDB entries need only vxlan0, not each other: one batch each, side by side
  return { steps: [...grouped(neighSteps, 'peers'), ...grouped(fdbSteps, 'peers')], warnings }
}

/** Ensures the overlay namespace, its bridge, its vxlan and its peers. */
export function planOverlay(
  net: CheckedNetwork,
  cfg: NodeConfig,
  host: ObservedHost,
  observed: ObservedNamespace | undefined,
): Plan {
  const ns = overlayNamespace(net.vni)
  const mtu = String(net.mtu)
  const tmp = vxlanCreateName(net.vni)
  const pre: Step[] = []
  const hostSteps: Step[] = []
  const inside: Step[] = []

  const usable = ensureNamespace(ns, host, observed, hostSteps)
  const links = usable ? observed.links : new Map()

  const br = links.get(BRIDGE)
  if (br !== undefined && br.kind !== 'bridge') inside.push(ip(ns, 'link', 'del', BRIDGE))
  if (br?.kind !== 'bridge') inside.push(ip(ns, 'link', 'add', BRIDGE, 'mtu', mtu, 'type', 'bridge'))
  if (br?.kind !== 'bridge' || br.mtu !== Number(mtu) || !br.up) {
    inside.push(ip(ns, 'link', 'set', BRIDGE, 'mtu', mtu, 'up'))
  }
  const gwAddr = `${net.gateway}/${net.subnet.prefix}`
  const brAddrs = br?.kind === 'bridge' ? br.addresses : []
  for (const a of brAddrs) if (a !== gwAddr) inside.push(ip(ns, 'addr', 'del', a, 'dev', BRIDGE))
  if (!brAddrs.includes(gwAddr)) inside.push(ip(ns, 'addr', 'replace', gwAddr, 'dev', BRIDGE))

  const vxOk = usable && vxlanMatches(cfg, net, observed)
  const vx = links.get(VXLAN)
  if (!vxOk) {
    if (vx !== undefined) pre.push(ip(ns, 'link', 'del', VXLAN))
    if (host.links.has(tmp)) hostSteps.push(ip(undefined, 'link', 'del', tmp))
    const vxlanArgs = [
      'id',
      String(net.vni),
      'dstport',
      String(cfg.dataPathPort),
      'local',
      cfg.advertiseAddress,
    ]
    if (cfg.underlayDevice !== undefined) vxlanArgs.push('dev', cfg.underlayDevice)
    hostSteps.push(
      ip(undefined, 'link', 'add', tmp, 'mtu', mtu, 'type', 'vxlan', ...vxlanArgs, 'nolearning', 'proxy'),
    )
    hostSteps.push(ip(undefined, 'link', 'set', tmp, 'netns', ns))
    inside.push(ip(ns, 'link', 'set', tmp, 'name', VXLAN))
    inside.push(ip(ns, 'link', 'set', VXLAN, 'mtu', mtu, 'master', BRIDGE, 'up'))
  } else if (vx !== undefined && (vx.master !== BRIDGE || vx.mtu !== Number(mtu) || !vx.up)) {
    inside.push(ip(ns, 'link', 'set', VXLAN, 'mtu', mtu, 'master', BRIDGE, 'up'))
  }

  // A new vxlan starts without entries; otherwise diff against what it holds.
  const peers = planPeers(net, cfg, vxOk && observed !== undefined ? observed : { neigh: [], fdb: [] })
  // after set-up steps in the namespace the neighbour lines ride their batch (one process fewer)
  const peerSteps = inside.length === 0 ? peers.steps : peers.steps.map(({ group: _, ...s }) => s)
  return { steps: [...pre, ...hostSteps, ...inside, ...peerSteps], warnings: peers.warnings }
}

/** Deletes an overlay namespace: vxlan first (synchronously), then the namespace. */
export function planOverlayRemoval(
  vni: number,
  host: ObservedHost,
  observed: ObservedNamespace | undefined,
): Plan {
  const ns = overlayNamespace(vni)
  const steps: Step[] = []
  if (observed?.links.has(VXLAN) === true) steps.push(ip(ns, 'link', 'del', VXLAN))
  if (host.namespaces.includes(ns)) steps.push(ip(undefined, 'netns', 'del', ns))
  if (host.links.has(vxlanCreateName(vni))) steps.push(ip(undefined, 'link', 'del', vxlanCreateName(vni)))
  return { steps, warnings: [] }
}
