import { describe, expect, it } from 'vitest'
import { nodeConfig } from '../src/dataplane.js'
import { failedStep, toBatches } from '../src/executor.js'
import { planGateway } from '../src/gateway.js'
import { planNode } from '../src/node.js'
import { planOverlay, planPeers } from '../src/overlay.js'
import { describePlan, ip as ipStep } from '../src/plan.js'
import { planSandbox } from '../src/sandbox.js'
import { normalizeDesired } from '../src/spec.js'
import { cfg, desired, emptyNode, fixtureHost, fixtureNode, fixtureOverlay, peers } from './fixtures.js'

const checked = normalizeDesired(desired)
const net = checked.networks[0]
if (net === undefined) throw new Error('fixture has a network')

describe('node planner', () => {
  it('plans a whole node from nothing, in order', () => {
    expect(describePlan(planNode(checked, emptyNode, cfg))).toEqual([
      'nft -f - <<21 lines>>',
      'ip link add sn_gwbridge mtu 1500 address 02:42:ac:12:00:01 type bridge',
      'ip link set sn_gwbridge up',
      'ip addr replace 172.18.0.1/16 dev sn_gwbridge',
      'sysctl -w net.ipv4.ip_forward=1',
      'nft -f - <<20 lines>>',
      'ip netns add sn-ov-4097',
      'ip link add sn-vx-001001 mtu 1450 type vxlan id 4097 dstport 4789 local 192.0.2.1 nolearning proxy',
      'ip link set sn-vx-001001 netns sn-ov-4097',
      'ip -n sn-ov-4097 link add br0 mtu 1450 type bridge',
      'ip -n sn-ov-4097 link set br0 mtu 1450 up',
      'ip -n sn-ov-4097 addr replace 10.0.1.1/24 dev br0',
      'ip -n sn-ov-4097 link set sn-vx-001001 name vxlan0',
      'ip -n sn-ov-4097 link set vxlan0 mtu 1450 master br0 up',
      'ip -n sn-ov-4097 neigh replace 10.0.1.7 lladdr 02:42:0a:00:01:07 dev vxlan0 nud permanent',
      'ip -n sn-ov-4097 neigh replace 10.0.1.8 lladdr 02:42:0a:00:01:08 dev vxlan0 nud permanent',
      'bridge -n sn-ov-4097 fdb replace 02:42:0a:00:01:07 dev vxlan0 dst 192.0.2.2 self permanent',
      'bridge -n sn-ov-4097 fdb replace 02:42:0a:00:01:08 dev vxlan0 dst 192.0.2.3 self permanent',
      'ip netns add sn-ep-task1',
      'ip link add sngw-task1 mtu 1500 type veth peer name gwbr0 netns sn-ep-task1 mtu 1500 address 02:42:ac:12:00:02',
      'ip link set sngw-task1 master sn_gwbridge up',
      'ip -n sn-ep-task1 link add eth0 mtu 1450 address 02:42:0a:00:01:02 type veth peer name ve-task1 netns sn-ov-4097 mtu 1450',
      'ip -n sn-ep-task1 link set lo up',
      'ip -n sn-ep-task1 addr replace 10.0.1.2/24 dev eth0',
      'ip -n sn-ep-task1 link set eth0 up',
      'ip -n sn-ep-task1 addr replace 172.18.0.2/16 dev gwbr0',
      'ip -n sn-ep-task1 link set gwbr0 up',
      'ip -n sn-ep-task1 route replace default via 172.18.0.1 dev gwbr0',
      'ip -n sn-ov-4097 link set ve-task1 master br0 up',
    ])
  })

  it('cuts that plan into few processes', () => {
    const batches = toBatches(planNode(checked, emptyNode, cfg).steps)
    expect(batches.map((b) => b.argv.join(' '))).toEqual([
      'nft -f -',
      'ip -batch -',
      'sysctl -q -w net.ipv4.ip_forward=1',
      'nft -f -',
      'ip -batch -',
      'ip -n sn-ov-4097 -batch -',
      'bridge -n sn-ov-4097 -batch -',
      'ip -batch -',
      'ip -n sn-ep-task1 -batch -',
      'ip -n sn-ov-4097 -batch -',
    ])
  })

  it('is empty when the kernel already matches (real observed state)', () => {
    expect(describePlan(planNode(checked, fixtureNode(), cfg))).toEqual([])
  })

  it('removes everything when nothing is desired', () => {
    expect(
      describePlan(planNode(normalizeDesired({ networks: [], endpoints: [] }), fixtureNode(), cfg)),
    ).toEqual([
      'ip -n sn-ep-task1 link del gwbr0',
      'ip -n sn-ep-task1 link del eth0',
      'ip -n sn-ov-4097 link del vxlan0',
      'ip netns del sn-ep-task1',
      'ip netns del sn-ov-4097',
      'ip link del sn_gwbridge',
      'nft -f - <<4 lines>>',
      'nft -f - <<1 lines>>',
    ])
  })

  it("uses the network's MTU on vxlan0, br0 and both ends of every sandbox leg; the gateway leg keeps the underlay's", () => {
    const small = normalizeDesired({
      ...desired,
      networks: desired.networks.map((n) => ({ ...n, mtu: 1350 })),
    })
    const plan = describePlan(
      planNode(small, emptyNode, nodeConfig({ advertiseAddress: '192.0.2.1', underlayMtu: 1400 })),
    )
    expect(plan).toContain('ip -n sn-ov-4097 link add br0 mtu 1350 type bridge')
    expect(plan).toContain('ip -n sn-ov-4097 link set vxlan0 mtu 1350 master br0 up')
    expect(plan).toContain(
      'ip -n sn-ep-task1 link add eth0 mtu 1350 address 02:42:0a:00:01:02 type veth peer name ve-task1 netns sn-ov-4097 mtu 1350',
    )
    expect(plan).toContain(
      'ip link add sngw-task1 mtu 1400 type veth peer name gwbr0 netns sn-ep-task1 mtu 1400 address 02:42:ac:12:00:02',
    )
    // a changed network MTU is repaired in place on the running kernel
    const drift = describePlan(planNode(small, fixtureNode(), cfg))
    expect(drift).toEqual(
      expect.arrayContaining([
        'ip -n sn-ov-4097 link set br0 mtu 1350 up',
        'ip -n sn-ov-4097 link set vxlan0 mtu 1350 master br0 up',
        'ip -n sn-ep-task1 link set eth0 mtu 1350 up',
        'ip -n sn-ov-4097 link set ve-task1 mtu 1350 master br0 up',
      ]),
    )
  })

  it("defaults a network without an MTU to the node's underlay − 50 and refuses one out of range", () => {
    expect(normalizeDesired(desired, 8950).networks[0]?.mtu).toBe(8950)
    expect(normalizeDesired(desired).networks[0]?.mtu).toBe(1450)
    const bad = { ...desired, networks: desired.networks.map((n) => ({ ...n, mtu: 575 })) }
    expect(() => normalizeDesired(bad)).toThrow(/MTU out of range/)
  })

  it('drops the network namespace with the last endpoint, keeps it while one remains', () => {
    const noEndpoint = normalizeDesired({ networks: desired.networks, endpoints: [] })
    expect(noEndpoint.networks).toEqual([])
    expect(describePlan(planNode(noEndpoint, fixtureNode(), cfg))).toContain('ip netns del sn-ov-4097')
  })
})

describe('peer planner (full set, never deltas)', () => {
  const observed = fixtureOverlay()

  it('restores an entry deleted by hand and nothing else', () => {
    const drifted = {
      neigh: observed.neigh.filter((n) => n.ip !== '10.0.1.7'),
      fdb: observed.fdb.filter((f) => f.mac !== '02:42:0a:00:01:08'),
    }
    expect(describePlan(planPeers(net, cfg, drifted))).toEqual([
      'ip -n sn-ov-4097 neigh replace 10.0.1.7 lladdr 02:42:0a:00:01:07 dev vxlan0 nud permanent',
      'bridge -n sn-ov-4097 fdb replace 02:42:0a:00:01:08 dev vxlan0 dst 192.0.2.3 self permanent',
    ])
  })

  it('removes stale peers and moves a MAC to its new VTEP', () => {
    const next = { ...net, peers: [{ ip: '10.0.1.7', mac: '02:42:0a:00:01:07', vtep: '192.0.2.9' }] }
    expect(describePlan(planPeers(next, cfg, observed))).toEqual([
      'ip -n sn-ov-4097 neigh del 10.0.1.8 dev vxlan0',
      'bridge -n sn-ov-4097 fdb del 02:42:0a:00:01:08 dev vxlan0 dst 192.0.2.3 self',
      'bridge -n sn-ov-4097 fdb del 02:42:0a:00:01:07 dev vxlan0 dst 192.0.2.2 self',
      'bridge -n sn-ov-4097 fdb replace 02:42:0a:00:01:07 dev vxlan0 dst 192.0.2.9 self permanent',
    ])
  })

  it('keeps one FDB entry per MAC when several IPs share it, and warns on conflicts', () => {
    const shared = {
      ...net,
      peers: [
        { ip: '10.0.1.20', mac: '02:42:0a:00:01:20', vtep: '192.0.2.5' },
        { ip: '10.0.1.21', mac: '02:42:0a:00:01:20', vtep: '192.0.2.5' },
        { ip: '10.0.1.20', mac: '02:42:0a:00:01:99', vtep: '192.0.2.6' },
      ],
    }
    const plan = planPeers(shared, cfg, { neigh: [], fdb: [] })
    expect(describePlan(plan).filter((s) => s.includes('fdb'))).toEqual([
      'bridge -n sn-ov-4097 fdb replace 02:42:0a:00:01:20 dev vxlan0 dst 192.0.2.5 self permanent',
      'bridge -n sn-ov-4097 fdb replace 02:42:0a:00:01:99 dev vxlan0 dst 192.0.2.6 self permanent',
    ])
    expect(plan.warnings).toHaveLength(1)
  })

  it('programs 10 000 peers in two processes', () => {
    const many = {
      ...net,
      peers: Array.from({ length: 10_000 }, (_, i) => {
        const ip = `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`
        return {
          ip,
          mac: `02:42:0a:01:${(Math.floor(i / 250) % 256).toString(16).padStart(2, '0')}:${((i % 250) + 1).toString(16).padStart(2, '0')}`,
          vtep: `192.0.2.${(i % 50) + 2}`,
        }
      }),
    }
    const plan = planPeers(many, cfg, { neigh: [], fdb: [] })
    expect(plan.steps).toHaveLength(20_000)
    expect(toBatches(plan.steps).map((b) => b.argv[0])).toEqual(['ip', 'bridge'])
  })

  it('skips local peers (own VTEP)', () => {
    expect(peers.filter((p) => p.vtep === cfg.advertiseAddress)).toHaveLength(1)
    expect(describePlan(planPeers(net, cfg, { neigh: [], fdb: [] })).join('\n')).not.toContain('10.0.1.2 ')
  })
})

describe('overlay planner', () => {
  it('recreates a vxlan whose port drifted, deleting the old one first', () => {
    const other = { ...cfg, dataPathPort: 4790 }
    const steps = describePlan(planOverlay(net, other, fixtureHost(), fixtureOverlay()))
    expect(steps.slice(0, 3)).toEqual([
      'ip -n sn-ov-4097 link del vxlan0',
      'ip link add sn-vx-001001 mtu 1450 type vxlan id 4097 dstport 4790 local 192.0.2.1 nolearning proxy',
      'ip link set sn-vx-001001 netns sn-ov-4097',
    ])
    expect(steps.filter((s) => s.includes('replace'))).toHaveLength(4)
  })

  it('rebuilds a broken namespace', () => {
    const broken = { ...fixtureOverlay(), broken: true }
    expect(describePlan(planOverlay(net, cfg, fixtureHost(), broken)).slice(0, 2)).toEqual([
      'ip netns del sn-ov-4097',
      'ip netns add sn-ov-4097',
    ])
  })
})

describe('gateway and sandbox planners', () => {
  it('reloads nft when a rule was deleted by hand', () => {
    const host = fixtureHost()
    const drifted = { ...host, nftRules: host.nftRules.slice(1) }
    const plan = planGateway(cfg, drifted)
    expect(describePlan(plan)).toEqual(['nft -f - <<20 lines>>'])
    const step = plan.steps[0]
    expect(step?.tool === 'nft' && step.script).toContain(
      'ip saddr 172.18.0.0/16 oifname != "sn_gwbridge" masquerade',
    )
  })

  it('repairs a sandbox whose address and route were removed', () => {
    const node = fixtureNode()
    const sb = node.sandboxes.get('sn-ep-task1')
    const ep = checked.endpoints[0]
    if (sb === undefined || ep === undefined) throw new Error('fixture')
    const eth0 = sb.links.get('eth0')
    if (eth0 === undefined) throw new Error('fixture')
    const links = new Map(sb.links)
    links.set('eth0', { ...eth0, addresses: ['10.0.1.99/24'] })
    const drifted = { ...sb, links, routes: [] }
    expect(describePlan(planSandbox(ep, cfg, node.host, drifted, node.overlays, '172.18.0.2'))).toEqual([
      'ip -n sn-ep-task1 addr del 10.0.1.99/24 dev eth0',
      'ip -n sn-ep-task1 addr replace 10.0.1.2/24 dev eth0',
      'ip -n sn-ep-task1 route replace default via 172.18.0.1 dev gwbr0',
    ])
  })
})

describe('validation', () => {
  it('rejects peer records that are not addresses (they come from the network)', () => {
    const bad = {
      ...desired.networks[0],
      peers: [{ ip: '10.0.1.9 dev lo', mac: '02:42:0a:00:01:09', vtep: '192.0.2.2' }],
    }
    expect(() => normalizeDesired({ networks: [bad as never], endpoints: [] })).toThrow(/not an IPv4/)
  })

  it('rejects an endpoint on an unknown network', () => {
    expect(() =>
      normalizeDesired({
        networks: [],
        endpoints: [{ id: 'a', attachments: [{ networkId: 'x', ip: '10.0.0.2' }] }],
      }),
    ).toThrow(/unknown network/)
  })
})

describe('which step of a failed batch failed', () => {
  it('maps ip/bridge "Command failed -:N" and nft "/dev/stdin:N:" to the step, counting script lines', () => {
    const ips = [ipStep('ns', 'link', 'show', 'lo'), ipStep('ns', 'link', 'del', 'x'), ipStep('ns', 'a')]
    expect(failedStep(ips, 'Cannot find device "x"\nCommand failed -:2\n')).toBe(1)
    expect(failedStep(ips, 'something else')).toBeUndefined()
    const nfts = [
      { tool: 'nft' as const, script: 'add table inet t\nadd chain inet t c' },
      { tool: 'nft' as const, script: 'add rule inet t nochain accept' },
    ]
    expect(failedStep(nfts, '/dev/stdin:3:21-27: Error: Could not process rule')).toBe(1)
    expect(failedStep(nfts, '/dev/stdin:2:1-3: Error')).toBe(0)
  })
})
