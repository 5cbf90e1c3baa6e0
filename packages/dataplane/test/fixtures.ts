// Real `ip -j`/`bridge -j`/`nft -j` output captured on kernel 6.18 / iproute2 6.1 after a
// reconcile of: advertise 192.0.2.1, network n1 (VNI 4097, 10.0.1.0/24, peers .2 local,
// .7 @192.0.2.2, .8 @192.0.2.3), endpoint task1 (10.0.1.2, gateway leg 172.18.0.2).
import { readFileSync } from 'node:fs'
import { nodeConfig } from '../src/dataplane.js'
import {
  type ObservedHost,
  type ObservedNamespace,
  type ObservedNode,
  parseFdb,
  parseJsonLines,
  parseLinks,
  parseNeigh,
  parseNetnsList,
  parseNftRules,
  parseRoutes,
} from '../src/observe.js'
import { parseGuard } from '../src/observe-xfrm.js'
import type { DesiredState } from '../src/spec.js'

export const read = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

export const cfg = nodeConfig({ advertiseAddress: '192.0.2.1' })

export const peers = [
  { ip: '10.0.1.2', mac: '02:42:0a:00:01:02', vtep: '192.0.2.1' },
  { ip: '10.0.1.7', mac: '02:42:0a:00:01:07', vtep: '192.0.2.2' },
  { ip: '10.0.1.8', mac: '02:42:0a:00:01:08', vtep: '192.0.2.3' },
]

export const desired: DesiredState = {
  networks: [{ id: 'n1', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', peers }],
  endpoints: [{ id: 'task1', attachments: [{ networkId: 'n1', ip: '10.0.1.2' }] }],
}

export function fixtureHost(): ObservedHost {
  const [links = [], addrs = [], netns = []] = parseJsonLines(read('host-ip.jsonl'))
  return {
    namespaces: parseNetnsList(netns),
    links: parseLinks(links, addrs),
    ipForward: '1',
    nftRules: parseNftRules(JSON.parse(read('host-nft.json'))),
    // the guard table as `nft -j` lists it on this kernel after guard.ts loaded it (no members
    // known, no encrypted VNI)
    guard: parseGuard(JSON.parse(read('guard-nft.json'))),
  }
}

export function fixtureOverlay(): ObservedNamespace {
  const [links = [], addrs = [], neigh = []] = parseJsonLines(read('overlay-ip.jsonl'))
  return {
    netns: 'sn-ov-4097',
    broken: false,
    links: parseLinks(links, addrs),
    neigh: parseNeigh(neigh).filter((n) => n.dev === 'vxlan0'),
    fdb: parseFdb(JSON.parse(read('overlay-fdb.json'))).filter((f) => f.dev === 'vxlan0'),
    routes: [],
  }
}

export function fixtureSandbox(): ObservedNamespace {
  const [links = [], addrs = [], routes = []] = parseJsonLines(read('sandbox-ip.jsonl'))
  return {
    netns: 'sn-ep-task1',
    broken: false,
    links: parseLinks(links, addrs),
    neigh: [],
    fdb: [],
    routes: parseRoutes(routes),
  }
}

export function fixtureNode(): ObservedNode {
  return {
    host: fixtureHost(),
    overlays: new Map([[4097, fixtureOverlay()]]),
    sandboxes: new Map([['sn-ep-task1', fixtureSandbox()]]),
    loadBalancers: new Map(),
    xfrm: { states: [], policies: [] },
  }
}

export const emptyNode: ObservedNode = {
  host: { namespaces: [], links: new Map(), ipForward: '0', nftRules: [] },
  overlays: new Map(),
  sandboxes: new Map(),
  loadBalancers: new Map(),
  xfrm: { states: [], policies: [] },
}
