/**
 * Planner for one endpoint (task) sandbox: namespace `sn-ep-<key>`, one veth per overlay
 * attachment (`eth<i>` inside, `ve-<key>` enslaved to that network's `br0`), and a leg
 * on the gateway bridge (`gwbr0` inside, `sngw-<key>` on the host) with the default route.
 *
 * Order, and why:
 * 1. Deletions of wrong legs first (overlay side, then sandbox side): a veth pair dies as
 *    a whole, and a leftover name would make the re-create fail.
 * 2. Host batch: `netns add`, then the gateway veth is created on the host with its peer
 *    directly in the sandbox, and enslaved to the gateway bridge.
 * 3. Sandbox batch: `eth<i>` created with its peer directly in the overlay namespace
 *    (MTU and MAC set at creation), then addresses, `up`, default route — one process.
 * 3b. The task table (REDIRECTs of published ports, task-nft.ts), before traffic can arrive.
 * 4. One batch per overlay namespace: enslave the peer to `br0` and bring it up.
 * The overlay namespaces themselves are ensured earlier in the node plan.
 */
import { intToIp, ipToInt, macFromIp, networkBase } from './addr.js'
import {
  BRIDGE,
  endpointInterface,
  GATEWAY_LEG,
  gatewayVeth,
  indexOfEndpointInterface,
  overlayNamespace,
  overlayVeth,
  sandboxNamespace,
} from './names.js'
import type { LinkState, ObservedHost, ObservedNamespace } from './observe.js'
import { ensureNamespace, ip, type Plan, type Step } from './plan.js'
import type { CheckedEndpoint, NodeConfig } from './spec.js'
import { planTaskTable } from './task-nft.js'

/** Exact IPv4 address set of a link: delete the others, add the wanted one if missing. */
function ensureAddress(ns: string, dev: string, want: string, have: readonly string[], out: Step[]): void {
  for (const a of have) if (a !== want) out.push(ip(ns, 'addr', 'del', a, 'dev', dev))
  if (!have.includes(want)) out.push(ip(ns, 'addr', 'replace', want, 'dev', dev))
}

export function planSandbox(
  ep: CheckedEndpoint,
  cfg: NodeConfig,
  host: ObservedHost,
  observed: ObservedNamespace | undefined,
  overlays: ReadonlyMap<number, ObservedNamespace>,
  gatewayIp: string | undefined,
): Plan {
  const ns = sandboxNamespace(ep.id)
  const preOverlay: Step[] = []
  const preSandbox: Step[] = []
  const hostSteps: Step[] = []
  const inside: Step[] = []
  const config: Step[] = []
  const perOverlay = new Map<string, Step[]>()

  const usable = ensureNamespace(ns, host, observed, hostSteps)
  const links: ReadonlyMap<string, LinkState> = usable ? observed.links : new Map()

  if (links.get('lo')?.up !== true) config.push(ip(ns, 'link', 'set', 'lo', 'up'))

  ep.attachments.forEach((a, i) => {
    const dev = endpointInterface(i)
    const onet = overlayNamespace(a.network.vni)
    const peer = overlayVeth(ep.id)
    const mine = links.get(dev)
    const theirs = overlays.get(a.network.vni)?.links.get(peer)
    const ovSteps = perOverlay.get(onet) ?? []
    perOverlay.set(onet, ovSteps)
    const want = `${a.ip}/${a.network.subnet.prefix}`
    const mtu = String(a.network.mtu)
    if (mine?.kind !== 'veth' || mine.mac !== a.mac || theirs === undefined) {
      if (theirs !== undefined) preOverlay.push(ip(onet, 'link', 'del', peer))
      if (mine !== undefined) preSandbox.push(ip(ns, 'link', 'del', dev))
      inside.push(
        ip(
          ns,
          'link',
          'add',
          dev,
          'mtu',
          mtu,
          'address',
          a.mac,
          'type',
          'veth',
          'peer',
          'name',
          peer,
          'netns',
          onet,
          'mtu',
          mtu,
        ),
      )
      config.push(ip(ns, 'addr', 'replace', want, 'dev', dev), ip(ns, 'link', 'set', dev, 'up'))
      ovSteps.push(ip(onet, 'link', 'set', peer, 'master', BRIDGE, 'up'))
      return
    }
    if (mine.mtu !== Number(mtu) || !mine.up) config.push(ip(ns, 'link', 'set', dev, 'mtu', mtu, 'up'))
    ensureAddress(ns, dev, want, mine.addresses, config)
    if (theirs.master !== BRIDGE || !theirs.up || theirs.mtu !== Number(mtu)) {
      ovSteps.push(ip(onet, 'link', 'set', peer, 'mtu', mtu, 'master', BRIDGE, 'up'))
    }
  })
  for (const name of links.keys()) {
    const index = indexOfEndpointInterface(name)
    if (index !== undefined && index >= ep.attachments.length) preSandbox.push(ip(ns, 'link', 'del', name))
  }

  const leg = links.get(GATEWAY_LEG)
  const hostLeg = host.links.get(gatewayVeth(ep.id))
  if (ep.gateway && gatewayIp !== undefined) {
    const gwMtu = String(cfg.underlayMtu)
    const want = `${gatewayIp}/${cfg.gatewaySubnet.prefix}`
    // the leg's MAC follows its address, so a reused address never meets a stale neighbour entry
    const gwMac = macFromIp(gatewayIp)
    if (leg?.kind !== 'veth' || hostLeg === undefined) {
      if (leg !== undefined) preSandbox.push(ip(ns, 'link', 'del', GATEWAY_LEG))
      if (hostLeg !== undefined) hostSteps.push(ip(undefined, 'link', 'del', gatewayVeth(ep.id)))
      hostSteps.push(
        ip(
          undefined,
          'link',
          'add',
          gatewayVeth(ep.id),
          'mtu',
          gwMtu,
          'type',
          'veth',
          'peer',
          'name',
          GATEWAY_LEG,
          'netns',
          ns,
          'mtu',
          gwMtu,
          'address',
          gwMac,
        ),
        ip(undefined, 'link', 'set', gatewayVeth(ep.id), 'master', cfg.gatewayBridge, 'up'),
      )
      config.push(
        ip(ns, 'addr', 'replace', want, 'dev', GATEWAY_LEG),
        ip(ns, 'link', 'set', GATEWAY_LEG, 'up'),
      )
      config.push(ip(ns, 'route', 'replace', 'default', 'via', cfg.gatewayAddress, 'dev', GATEWAY_LEG))
    } else {
      if (hostLeg.master !== cfg.gatewayBridge || !hostLeg.up) {
        hostSteps.push(ip(undefined, 'link', 'set', gatewayVeth(ep.id), 'master', cfg.gatewayBridge, 'up'))
      }
      if (leg.mac !== gwMac) config.push(ip(ns, 'link', 'set', GATEWAY_LEG, 'address', gwMac))
      if (!leg.up) config.push(ip(ns, 'link', 'set', GATEWAY_LEG, 'up'))
      ensureAddress(ns, GATEWAY_LEG, want, leg.addresses, config)
      const route = observed?.routes.find((r) => r.dst === 'default')
      if (route?.gateway !== cfg.gatewayAddress || route.dev !== GATEWAY_LEG) {
        config.push(ip(ns, 'route', 'replace', 'default', 'via', cfg.gatewayAddress, 'dev', GATEWAY_LEG))
      }
    }
  } else if (leg !== undefined) {
    preSandbox.push(ip(ns, 'link', 'del', GATEWAY_LEG))
  }

  return {
    steps: [
      ...preOverlay,
      ...preSandbox,
      ...hostSteps,
      ...inside,
      ...config,
      ...planTaskTable(ep, ns, usable ? observed.taskRules : undefined),
      ...[...perOverlay.values()].flat(),
    ],
    warnings: [],
  }
}

/**
 * Gateway-bridge addresses for the endpoints that want a leg: the requested one, else
 * the one the sandbox already has (stable across reconciles), else the lowest free;
 * `reserved` (the ingress namespace's) is never handed out.
 */
export function assignGatewayIps(
  endpoints: readonly CheckedEndpoint[],
  cfg: NodeConfig,
  sandboxes: ReadonlyMap<string, ObservedNamespace>,
  reserved?: string,
): Map<string, string> {
  const out = new Map<string, string>()
  const taken = new Set<string>([cfg.gatewayAddress, ...(reserved === undefined ? [] : [reserved])])
  const base = networkBase(cfg.gatewaySubnet)
  const size = 2 ** (32 - cfg.gatewaySubnet.prefix)
  const inSubnet = (addr: string): boolean => {
    const n = ipToInt(addr)
    return n > base && n < base + size - 1
  }
  const wanting = endpoints.filter((e) => e.gateway)
  for (const e of wanting) {
    if (e.gatewayIp !== undefined && !taken.has(e.gatewayIp)) {
      out.set(e.id, e.gatewayIp)
      taken.add(e.gatewayIp)
    }
  }
  for (const e of wanting) {
    if (out.has(e.id) || e.gatewayIp !== undefined) continue
    const have = sandboxes.get(sandboxNamespace(e.id))?.links.get(GATEWAY_LEG)?.addresses ?? []
    const [addr, prefix] = (have[0] ?? '').split('/')
    if (
      addr !== undefined &&
      Number(prefix) === cfg.gatewaySubnet.prefix &&
      inSubnet(addr) &&
      !taken.has(addr)
    ) {
      out.set(e.id, addr)
      taken.add(addr)
    }
  }
  let next = base + 1
  for (const e of wanting) {
    if (out.has(e.id)) continue
    while (next < base + size - 1 && taken.has(intToIp(next))) next++
    if (next >= base + size - 1) break
    const addr = intToIp(next)
    out.set(e.id, addr)
    taken.add(addr)
  }
  return out
}
