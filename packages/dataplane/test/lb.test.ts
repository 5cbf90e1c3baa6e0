import { describe, expect, it } from 'vitest'
import { Executor, toBatches } from '../src/executor.js'
import { planNode } from '../src/node.js'
import { parseLbTable, parseSysctls } from '../src/observe-lb.js'
import { describePlan } from '../src/plan.js'
import { type LoadBalancerSpec, normalizeDesired } from '../src/spec.js'
import { cfg, desired, emptyNode, read } from './fixtures.js'
import { api, check, lbSpec, web } from './lb-fixtures.js'

describe('load balancer input', () => {
  it('is validated at the boundary', () => {
    const bad = (lb: Partial<LoadBalancerSpec>) => () =>
      normalizeDesired({ ...desired, loadBalancers: [{ ...lbSpec([web]), ...lb }] })
    expect(bad({ networkId: 'nope' })).toThrow(/unknown network/)
    expect(bad({ address: '10.0.2.5' })).toThrow(/outside/)
    expect(bad({ address: '10.0.1.1' })).toThrow(/gateway/)
    expect(bad({ services: [{ ...web, vip: '10.0.9.1' }] })).toThrow(/VIP 10.0.9.1 outside/)
    expect(bad({ services: [web, { ...api, vip: web.vip }] })).toThrow(/already the VIP of web/)
    expect(bad({ services: [{ ...web, vip: '10.0.1.250' }] })).toThrow(/already the LB address/)
    expect(bad({ services: [web, web] })).toThrow(/given twice/)
    expect(bad({ services: [{ ...web, backends: [{ ip: '10.0.1.3', weight: 2 as 1 }] }] })).toThrow(/weight/)
    expect(bad({ services: [{ ...web, backends: [{ ip: 'x; rm', weight: 1 }] }] })).toThrow(/not an IPv4/)
    expect(() => normalizeDesired({ ...desired, loadBalancers: [lbSpec([]), lbSpec([])] })).toThrow(
      /given twice/,
    )
  })

  it('resolves defaults: MAC from the address, backends unique (live wins) and sorted, services by id', () => {
    const lb = check([
      { ...web, backends: [...web.backends, { ip: '10.0.1.2', weight: 0 }, { ip: '10.0.1.10', weight: 0 }] },
      api,
    ])
    expect(lb.mac).toBe('02:42:0a:00:01:fa')
    expect(lb.services.map((s) => s.id)).toEqual(['api', 'web'])
    expect(lb.services[1]?.backends).toEqual([
      { ip: '10.0.1.2', weight: 1 },
      { ip: '10.0.1.7', weight: 1 },
      { ip: '10.0.1.10', weight: 0 },
    ])
  })

  it('an LB alone makes its network built on this node', () => {
    const checked = normalizeDesired({ ...desired, endpoints: [], loadBalancers: [lbSpec([])] })
    expect(checked.networks.map((n) => n.id)).toEqual(['n1'])
  })
})

describe('nftables backend planner', () => {
  it('plans a new LB after the node, in order, in few processes, owned by lb:<net> and its network', () => {
    const checked = normalizeDesired({ ...desired, loadBalancers: [lbSpec([web, api])] })
    const plan = planNode(checked, emptyNode, cfg)
    const lbSteps = plan.steps.filter((s) => s.owners?.[0] === 'lb:n1')
    expect(lbSteps.every((s) => s.owners?.join() === 'lb:n1,network:n1')).toBe(true)
    expect(describePlan({ steps: lbSteps, warnings: [] })).toEqual([
      'ip netns add sn-lb-4097',
      'ip netns exec sn-lb-4097 nft -f - <<38 lines>>',
      'ip -n sn-lb-4097 link set lo up',
      'ip -n sn-lb-4097 link add eth0 mtu 1450 address 02:42:0a:00:01:fa type veth peer name lb-4097 netns sn-ov-4097 mtu 1450',
      'ip -n sn-lb-4097 addr replace 10.0.1.250/24 dev eth0',
      'ip -n sn-lb-4097 addr replace 10.0.1.101/32 dev eth0',
      'ip -n sn-lb-4097 addr replace 10.0.1.100/32 dev eth0',
      'ip -n sn-lb-4097 link set eth0 up',
      'ip netns exec sn-lb-4097 sysctl -w net.ipv4.ip_forward=1',
      'ip netns exec sn-lb-4097 sysctl -w net.ipv4.conf.all.send_redirects=0',
      'ip netns exec sn-lb-4097 sysctl -w net.ipv4.conf.eth0.send_redirects=0',
      'ip -n sn-ov-4097 link set lb-4097 master br0 up',
    ])
    // the LB comes after the sandbox, which does not need it
    expect(plan.steps.at(-1)).toMatchObject({
      netns: 'sn-ov-4097',
      args: ['link', 'set', 'lb-4097', 'master', 'br0', 'up'],
    })
    expect(toBatches(lbSteps).map((b) => b.argv.join(' '))).toEqual([
      'ip -batch -',
      'ip netns exec sn-lb-4097 nft -f -',
      'ip -n sn-lb-4097 -batch -',
      'ip netns exec sn-lb-4097 sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0',
      'ip -n sn-ov-4097 -batch -',
    ])
  })
})

describe('observation parsers', () => {
  it('reads chains, rule comments, sets and maps from nft -j (captured on kernel 6.18, nft 1.0.6)', () => {
    const table = parseLbTable(JSON.parse(read('lb-table.json')))
    expect(table.chains.get('postrouting')).toEqual([expect.stringMatching(/^sn:[0-9a-f]{12}$/)])
    expect(table.chains.get('prerouting')).toHaveLength(4)
    expect(table.sets.get('backends')).toEqual(
      new Set([
        '10.0.1.100 . 10.0.1.2',
        '10.0.1.100 . 10.0.1.7',
        '10.0.1.100 . 10.0.1.9',
        '10.0.1.101 . 10.0.1.8',
        '10.0.1.102 . 10.0.1.3',
      ]),
    )
    expect(table.sets.get('none')).toEqual(new Set(['10.0.1.102']))
    expect(table.maps.get('bk-2')).toEqual(
      new Map([
        ['10.0.1.100 . 0', '10.0.1.2'],
        ['10.0.1.100 . 1', '10.0.1.7'],
      ]),
    )
  })

  it('reads other maps generically: the IPVS marks, a verdict map, elements with options', () => {
    const map = (name: string, elem: unknown[]) => ({
      map: { family: 'ip', name, table: 'swarmnet-lb', elem },
    })
    const json = {
      nftables: [
        map('marks', [['10.0.1.100', 256]]),
        map('vips', [['10.0.1.101', { goto: { target: 'svc-a' } }]]),
        {
          set: {
            family: 'ip',
            name: 'x',
            table: 'swarmnet-lb',
            elem: [{ elem: { val: '10.0.1.5', comment: 'c' } }],
          },
        },
        { set: { family: 'ip', name: 'empty', table: 'swarmnet-lb' } },
        { set: { family: 'ip', name: 'theirs', table: 'other', elem: ['10.0.0.1'] } },
      ],
    }
    expect(parseLbTable(json)).toEqual({
      chains: new Map(),
      sets: new Map([
        ['x', new Set(['10.0.1.5'])],
        ['empty', new Set()],
      ]),
      maps: new Map([
        ['marks', new Map([['10.0.1.100', '256']])],
        ['vips', new Map([['10.0.1.101', 'goto svc-a']])],
      ]),
    })
  })

  it('reads sysctl output, unknown keys left out', () => {
    expect(parseSysctls('net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.send_redirects = 0\n')).toEqual(
      new Map([
        ['net.ipv4.ip_forward', '1'],
        ['net.ipv4.conf.all.send_redirects', '0'],
      ]),
    )
  })
})

describe('executor with LB steps', () => {
  it('a batch whose failing line is unknown (conntrack -R, ipvsadm -R) fails its owners only', async () => {
    const spawned: string[] = []
    // every process succeeds except conntrack's, which fails without naming a line
    const exec = new Executor({
      wrap: ['sh', '-c', 'case "$*" in *conntrack*) exit 3;; esac', 'sh'],
      onSpawn: (argv) => spawned.push(argv.slice(4).join(' ')),
    })
    const lb = ['lb:n1', 'network:n1']
    const result = await exec.apply({
      steps: [
        { tool: 'conntrack', netns: 'sn-lb-4097', args: ['-D', '-r', '10.0.1.7'], owners: lb },
        { tool: 'ip', netns: 'sn-lb-4097', args: ['link', 'set', 'lo', 'up'], owners: lb },
        { tool: 'ip', netns: 'sn-ep-task1', args: ['link', 'set', 'lo', 'up'], owners: ['endpoint:task1'] },
      ],
      warnings: [],
    })
    expect(Object.fromEntries(result.failed)).toEqual({ 'lb:n1': 'exit 3' })
    expect(spawned).toEqual([
      'ip netns exec sn-lb-4097 sh -c cat | exec conntrack -R -',
      'ip -n sn-ep-task1 -batch -',
    ])
  })
})
