import { describe, expect, it } from 'vitest'
import { toBatches } from '../src/executor.js'
import { planIngress, planIngressDelta } from '../src/ingress.js'
import {
  hostIngressRules,
  hostIngressScript,
  hostIngressTable,
  parseIptables,
  planIptables,
} from '../src/ingress-host.js'
import {
  ingressIpvsScript,
  ingressIpvsTable,
  ingressNsDelta,
  ingressNsScript,
  ingressNsTable,
} from '../src/ingress-nft.js'
import { fwmarks } from '../src/lb-ipvs.js'
import { commentOf } from '../src/nft-delta.js'
import { planNode } from '../src/node.js'
import { describePlan, describeStep } from '../src/plan.js'
import { type DesiredState, type IngressPortSpec, type IngressSpec, normalizeDesired } from '../src/spec.js'
import { planTaskTable } from '../src/task-nft.js'
import { cfg, desired, emptyNode } from './fixtures.js'
import { api, lbSpec, web } from './lb-fixtures.js'

const GW = '172.18.0.9'
const ingress = (
  ports: IngressPortSpec[] = [{ protocol: 'tcp', published: 8080, serviceId: 'web' }],
): IngressSpec => ({
  networkId: 'n1',
  gatewayIp: GW,
  ports,
  hostPorts: [{ protocol: 'tcp', published: 9090, target: 80, endpointId: 'task1' }],
})
const withIngress = (spec: IngressSpec = ingress(), services = [web, api]): DesiredState => ({
  ...desired,
  endpoints: [
    {
      id: 'task1',
      attachments: [
        { networkId: 'n1', ip: '10.0.1.2', redirects: [{ protocol: 'tcp', published: 8080, target: 80 }] },
      ],
    },
  ],
  loadBalancers: [lbSpec(services)],
  ingress: spec,
})
const checked = (d: DesiredState = withIngress()) => {
  const c = normalizeDesired(d)
  const lb = c.loadBalancers[0]
  if (c.ingress === undefined || lb === undefined) throw new Error('ingress and LB')
  return { ingress: c.ingress, lb, desired: c }
}
const strip = (s: string | undefined): string[] =>
  (s ?? '').replace(/ comment "sn:[0-9a-f]{12}"/g, '').split('\n')

describe('ingress input', () => {
  it('refuses a port published twice (also across modes), an unknown network, a network without LB, a bad protocol', () => {
    const twice = ingress([
      { protocol: 'tcp', published: 9090, serviceId: 'web' },
      { protocol: 'udp', published: 9090, serviceId: 'web' },
    ])
    expect(() => normalizeDesired(withIngress(twice))).toThrow(/tcp\/9090 is published twice/)
    expect(() => normalizeDesired(withIngress({ ...ingress(), networkId: 'nope' }))).toThrow(
      /unknown network/,
    )
    expect(() => normalizeDesired({ ...withIngress(), loadBalancers: [] })).toThrow(/no load balancer/)
    const bad = ingress([{ protocol: 'sctp' as 'tcp', published: 1, serviceId: 'web' }])
    expect(() => normalizeDesired(withIngress(bad))).toThrow(/protocol must be tcp or udp/)
    // a host-mode port of an endpoint not (yet) here: left out with a warning, not an error
    const early = withIngress({
      ...ingress(),
      hostPorts: [{ protocol: 'tcp', published: 1, target: 1, endpointId: 'x' }],
    })
    expect(planNode(normalizeDesired(early), emptyNode, cfg).warnings).toEqual([
      'ingress: host-mode port of x: no local endpoint with a gateway leg',
    ])
  })
})

describe('ingress namespace table (nftables)', () => {
  it('balances each published port over its service`s live backends, refuses with none', () => {
    const { ingress: ing, lb } = checked(
      withIngress(
        ingress([
          { protocol: 'tcp', published: 8080, serviceId: 'web' },
          { protocol: 'udp', published: 5353, serviceId: 'api' },
          { protocol: 'tcp', published: 7000, serviceId: 'gone' },
        ]),
      ),
    )
    const lines = strip(ingressNsScript(ing, lb, undefined).script)
    expect(lines.slice(0, 2)).toEqual(['table ip swarmnet-ingress {}', 'delete table ip swarmnet-ingress'])
    expect(lines).toContain('    elements = { tcp . 8080 . 0 : 10.0.1.2, tcp . 8080 . 1 : 10.0.1.7 }')
    expect(lines).toContain('    elements = { udp . 5353 . 0 : 10.0.1.8 }')
    expect(lines).toContain('    elements = { tcp . 7000 }') // set none
    expect(lines).toContain(
      `    ip daddr ${GW} meta l4proto . th dport @live-2 dnat to meta l4proto . th dport . numgen random mod 2 map @bk-2`,
    )
    expect(lines).toContain(
      `    ip daddr ${GW} meta l4proto . th dport @none meta l4proto tcp reject with tcp reset`,
    )
    // against itself: nothing to do
    expect(ingressNsScript(ing, lb, ingressNsTable(ing, lb)).script).toBeUndefined()
  })

  it('a departed backend: its elements go, its conntrack entries are named; the fast-path delta is the same', () => {
    const before = checked()
    const after = checked(
      withIngress(ingress(), [{ ...web, backends: [{ ip: '10.0.1.2', weight: 1 }] }, api]),
    )
    const full = ingressNsScript(after.ingress, after.lb, ingressNsTable(before.ingress, before.lb))
    expect(full.departed).toEqual(['10.0.1.7'])
    const fast = ingressNsDelta(before.ingress, before.lb, after.ingress, after.lb)
    expect({ script: fast.script, departed: fast.departed }).toEqual(full)
    expect(strip(fast.script)).toContain('add element ip swarmnet-ingress bk-1 { tcp . 8080 . 0 : 10.0.1.2 }')
  })

  it('adding one port among 1 000 is a few lines', () => {
    const ports = Array.from({ length: 1000 }, (_, i) => ({
      protocol: 'tcp' as const,
      published: 20000 + i,
      serviceId: 'web',
    }))
    const before = checked(withIngress(ingress(ports)))
    const after = checked(
      withIngress(ingress([...ports, { protocol: 'udp', published: 53, serviceId: 'api' }])),
    )
    const fast = ingressNsDelta(before.ingress, before.lb, after.ingress, after.lb)
    expect(strip(fast.script)).toEqual([
      'add set ip swarmnet-ingress live-1 { type inet_proto . inet_service; }',
      'add map ip swarmnet-ingress bk-1 { typeof meta l4proto . th dport . numgen random mod 1 : ip daddr; }',
      'add element ip swarmnet-ingress backends { udp . 53 . 10.0.1.8 }',
      'add element ip swarmnet-ingress live-1 { udp . 53 }',
      'add element ip swarmnet-ingress bk-1 { udp . 53 . 0 : 10.0.1.8 }',
      'flush chain ip swarmnet-ingress prerouting',
      ...[
        `ip daddr ${GW} meta l4proto . th dport @live-1 dnat to meta l4proto . th dport . numgen random mod 1 map @bk-1`,
        `ip daddr ${GW} meta l4proto . th dport @live-2 dnat to meta l4proto . th dport . numgen random mod 2 map @bk-2`,
        `ip daddr ${GW} meta l4proto . th dport @none meta l4proto tcp reject with tcp reset`,
        `ip daddr ${GW} meta l4proto . th dport @none reject with icmp type port-unreachable`,
      ].map((r) => `add rule ip swarmnet-ingress prerouting ${r}`),
    ])
  })
})

describe('ingress namespace table (IPVS)', () => {
  it('marks a published port with the fwmark the LB`s IPVS backend gives its service', () => {
    const { ingress: ing, lb } = checked()
    const mark = fwmarks(lb.services.map((s) => s.id)).get('web')
    const lines = strip(ingressIpvsScript(ing, lb, undefined))
    expect(lines).toContain(`    elements = { tcp . 8080 : ${mark} }`)
    expect(lines).toContain('    type filter hook input priority mangle; policy accept;')
    expect(lines).toContain(`    ip daddr ${GW} meta mark set meta l4proto . th dport map @marks`)
    // read back (a mark possibly printed in hex): nothing to do
    const seen = ingressIpvsTable(ing, lb)
    const hex = new Map(
      [...(seen.maps.get('marks') ?? [])].map(([k, v]) => [k, `0x${Number(v).toString(16)}`]),
    )
    expect(ingressIpvsScript(ing, lb, { ...seen, maps: new Map([['marks', hex]]) })).toBeUndefined()
    const plan = planIngress(
      ing,
      lb,
      'ipvs',
      cfg,
      emptyNode.host,
      undefined,
      new Map([['task1', '172.18.0.2']]),
    )
    expect(plan.steps.map(describeStep)).toEqual([
      'ip link add sngw-_4097 mtu 1500 type veth peer name gwbr0 netns sn-lb-4097 mtu 1500 address 02:42:ac:12:00:09',
      'ip link set sngw-_4097 master sn_gwbridge up',
      'ip netns exec sn-lb-4097 nft -f - <<12 lines>>',
      `ip -n sn-lb-4097 addr replace ${GW}/16 dev gwbr0`,
      'ip -n sn-lb-4097 link set gwbr0 mtu 1500 up',
      'ip -n sn-lb-4097 route replace default via 172.18.0.1 dev gwbr0',
      'nft -f - <<22 lines>>',
    ])
  })
})

describe('host ingress table', () => {
  it('DNATs published ports to the ingress namespace, host-mode ports to the task; creates the user chain and never writes it', () => {
    const { ingress: ing } = checked()
    const { table } = hostIngressTable(ing, cfg, new Map([['task1', '172.18.0.2']]))
    const rules = hostIngressRules(GW, cfg)
    const lines = strip(hostIngressScript(table, rules, undefined))
    expect(lines.slice(0, 2)).toEqual(['add table ip swarmnet-ingress', 'add chain ip swarmnet-ingress user'])
    expect(lines).toContain('add element ip swarmnet-ingress ports { tcp . 8080 }')
    expect(lines).toContain('add element ip swarmnet-ingress hostports { tcp . 9090 : 172.18.0.2 . 80 }')
    expect(lines).toContain(
      `add rule ip swarmnet-ingress prerouting fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport @ports dnat to ${GW}`,
    )
    expect(lines.filter((l) => l.startsWith('add rule ip swarmnet-ingress forward'))[0]).toBe(
      'add rule ip swarmnet-ingress forward jump user',
    )
    expect(
      lines.some((l) => / user($| )/.test(l) && !l.startsWith('add chain') && !l.endsWith('jump user')),
    ).toBe(false)
    // as read back, with an operator's rule in the user chain: nothing to do
    const seen = {
      ...table,
      chains: new Map([...table.chains, ['user', [commentOf('ip saddr 198.51.100.7 drop')]]]),
    }
    expect(hostIngressScript(table, rules, seen)).toBeUndefined()
  })

  it('the fast path changes elements only', () => {
    const gw = new Map([['task1', '172.18.0.2']])
    const before = checked()
    const after = checked(
      withIngress(
        ingress([
          { protocol: 'tcp', published: 8080, serviceId: 'web' },
          { protocol: 'udp', published: 53, serviceId: 'api' },
        ]),
      ),
    )
    const plan = planIngressDelta({ ...before, gatewayIps: gw }, { ...after, gatewayIps: gw }, cfg)
    const host = plan?.steps.find((s) => s.tool === 'nft' && s.netns === undefined)
    expect(host?.tool === 'nft' ? host.script : '').toBe('add element ip swarmnet-ingress ports { udp . 53 }')
    expect(
      planIngressDelta(
        { ...before, gatewayIps: gw },
        { ...after, ingress: { ...after.ingress, gatewayIp: '172.18.0.10' }, gatewayIps: gw },
        cfg,
      ),
    ).toBeUndefined()
  })
})

describe('iptables coexistence', () => {
  const save = (extra: string) =>
    `# Generated\n*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j X\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [3:180]\n${extra}COMMIT\n`
  it('does nothing without a filter table', () => {
    expect(parseIptables('')).toBeUndefined()
    expect(planIptables(cfg, true, undefined)).toEqual([])
  })
  it('creates our chain and ONE jump; keeps a correct one; deletes extra jumps; removes both', () => {
    const none = parseIptables(save(''))
    expect(none).toEqual({ chain: undefined, jumps: 0 })
    expect(planIptables(cfg, true, none).map(describeStep)).toEqual([
      'iptables -N SWARMNET-FORWARD',
      'iptables -A SWARMNET-FORWARD -o sn_gwbridge -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      'iptables -A SWARMNET-FORWARD -o sn_gwbridge -m conntrack --ctstate DNAT -j ACCEPT',
      'iptables -A SWARMNET-FORWARD -i sn_gwbridge ! -o sn_gwbridge -j ACCEPT',
      'iptables -I FORWARD 1 -j SWARMNET-FORWARD',
    ])
    const ours = [
      ':SWARMNET-FORWARD - [0:0]',
      '-A FORWARD -j SWARMNET-FORWARD',
      '-A FORWARD -j SWARMNET-FORWARD',
      '-A FORWARD -s 198.51.100.7/32 -j DROP',
      '-A SWARMNET-FORWARD -o sn_gwbridge -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A SWARMNET-FORWARD -o sn_gwbridge -m conntrack --ctstate DNAT -j ACCEPT',
      '-A SWARMNET-FORWARD -i sn_gwbridge ! -o sn_gwbridge -j ACCEPT',
      '',
    ].join('\n')
    const seen = parseIptables(save(ours))
    expect(seen?.jumps).toBe(2)
    expect(planIptables(cfg, true, seen).map(describeStep)).toEqual([
      'iptables -D FORWARD -j SWARMNET-FORWARD',
    ])
    expect(planIptables(cfg, false, seen).map(describeStep)).toEqual([
      'iptables -D FORWARD -j SWARMNET-FORWARD',
      'iptables -D FORWARD -j SWARMNET-FORWARD',
      'iptables -F SWARMNET-FORWARD',
      'iptables -X SWARMNET-FORWARD',
    ])
    const batch = toBatches(planIptables(cfg, true, none))
    expect(batch.map((b) => b.argv)).toEqual([['iptables-restore', '--noflush']])
    expect(batch[0]?.input.startsWith('*filter\n-N SWARMNET-FORWARD\n')).toBe(true)
    expect(batch[0]?.input.endsWith('\nCOMMIT\n')).toBe(true)
  })
})

describe('the node plan with ingress', () => {
  it('LB, then the mesh (leg, namespace table, address, host table), the task`s REDIRECT with its sandbox', () => {
    const plan = planNode(checked().desired, emptyNode, cfg)
    const lines = describePlan(plan)
    const at = (s: string) => lines.findIndex((l) => l.startsWith(s))
    expect(at('ip netns exec sn-ep-task1 nft -f -')).toBeGreaterThan(0)
    expect(at('ip link add sngw-_4097')).toBeGreaterThan(at('ip netns add sn-lb-4097'))
    expect(at(`ip -n sn-lb-4097 addr replace ${GW}/16`)).toBeGreaterThan(
      at('ip netns exec sn-lb-4097 nft -f -'),
    )
    expect(lines.at(-1)).toBe('nft -f - <<22 lines>>')
    // the task's gateway leg never takes the ingress namespace's address
    expect(lines).toContain('ip -n sn-ep-task1 addr replace 172.18.0.2/16 dev gwbr0')
  })

  it('the task table: REDIRECT per attachment leg, deleted when none is left', () => {
    const ep = checked().desired.endpoints[0]
    if (ep === undefined) throw new Error('one endpoint')
    const [step] = planTaskTable(ep, 'sn-ep-task1', undefined)
    expect(strip(step?.script)).toContain('    iifname "eth0" tcp dport 8080 redirect to :80')
    const have = ['iifname "eth0" tcp dport 8080 redirect to :80'].map(commentOf)
    expect(planTaskTable(ep, 'sn-ep-task1', have)).toEqual([])
    const bare = { ...ep, attachments: ep.attachments.map((a) => ({ ...a, redirects: [] })) }
    expect(planTaskTable(bare, 'sn-ep-task1', have).map((s) => s.script)).toEqual([
      'delete table ip swarmnet-task',
    ])
  })
})
