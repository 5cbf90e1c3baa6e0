import { describe, expect, it } from 'vitest'
import { Executor, toBatches } from '../src/executor.js'
import { lbSysctls, planLoadBalancer } from '../src/lb.js'
import { departedNftBackends, fullLbScript, lbNftScript } from '../src/lb-nft.js'
import { planNode } from '../src/node.js'
import { parseLbTable, parseSysctls } from '../src/observe-lb.js'
import { describePlan } from '../src/plan.js'
import { type LoadBalancerSpec, normalizeDesired } from '../src/spec.js'
import { cfg, desired, emptyNode } from './fixtures.js'
import { api, check, lbSpec, observedAfter, observedLb, scriptLines, web } from './lb-fixtures.js'

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
    expect(lb.services[1]?.chain).toMatch(/^svc-web-[0-9a-f]{10}$/)
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
      'ip netns exec sn-lb-4097 nft -f - <<31 lines>>',
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

  it('writes the whole table: VIP map, numgen over live backends, draining chains kept, reject when none', () => {
    const lb = check([
      { ...web, backends: [...web.backends, { ip: '10.0.1.9', weight: 0 }] },
      { ...api, backends: [] },
    ])
    const a = lb.services[0]?.chain as string
    const w = lb.services[1]?.chain as string
    expect(fullLbScript(lb).replace(/ comment "sn:[0-9a-f]{12}"/g, '')).toBe(
      [
        'table ip swarmnet-lb {}',
        'delete table ip swarmnet-lb',
        'table ip swarmnet-lb {',
        '  map vips {',
        '    type ipv4_addr : verdict',
        `    elements = { 10.0.1.101 : goto ${a}, 10.0.1.100 : goto ${w} }`,
        '  }',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    ip daddr vmap @vips',
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    ct status dnat snat to 10.0.1.250',
        '  }',
        `  chain ${a} {`,
        '    meta l4proto tcp reject with tcp reset',
        '    reject with icmp type port-unreachable',
        '  }',
        `  chain ${w}-10.0.1.2 {`,
        '    dnat to 10.0.1.2',
        '  }',
        `  chain ${w}-10.0.1.7 {`,
        '    dnat to 10.0.1.7',
        '  }',
        `  chain ${w}-10.0.1.9 {`,
        '    dnat to 10.0.1.9',
        '  }',
        `  chain ${w} {`,
        `    numgen random mod 2 vmap { 0 : goto ${w}-10.0.1.2, 1 : goto ${w}-10.0.1.7 }`,
        '  }',
        '}',
      ].join('\n'),
    )
  })

  it('is silent when the table matches', () => {
    expect(lbNftScript(check([web, api]), observedAfter([web, api]))).toBeUndefined()
  })

  it('a change to one service rewrites only its chains (and adds a backend chain), never the others', () => {
    const grown = { ...web, backends: [...web.backends, { ip: '10.0.1.9', weight: 1 as const }] }
    const lb = check([grown, api])
    const w = lb.services[1]?.chain as string
    const a = lb.services[0]?.chain as string
    const script = lbNftScript(lb, observedAfter([web, api])) ?? ''
    expect(scriptLines(lb, observedAfter([web, api]))).toEqual([
      `add chain ip swarmnet-lb ${w}-10.0.1.9`,
      `add rule ip swarmnet-lb ${w}-10.0.1.9 dnat to 10.0.1.9`,
      `flush chain ip swarmnet-lb ${w}`,
      `add rule ip swarmnet-lb ${w} numgen random mod 3 vmap { 0 : goto ${w}-10.0.1.2, 1 : goto ${w}-10.0.1.7, 2 : goto ${w}-10.0.1.9 }`,
    ])
    expect(script).not.toContain(a)
  })

  it('a removed backend: its chain goes after the service chain stops jumping to it; its conntrack entries go last', () => {
    const shrunk = { ...web, backends: [{ ip: '10.0.1.2', weight: 1 as const }] }
    const lb = check([shrunk, api])
    const w = lb.services[1]?.chain as string
    const before = observedAfter([web, api])
    expect(scriptLines(lb, before)).toEqual([
      `flush chain ip swarmnet-lb ${w}`,
      `add rule ip swarmnet-lb ${w} numgen random mod 1 vmap { 0 : goto ${w}-10.0.1.2 }`,
      `flush chain ip swarmnet-lb ${w}-10.0.1.7`,
      `delete chain ip swarmnet-lb ${w}-10.0.1.7`,
    ])
    expect(departedNftBackends(lb, before)).toEqual([{ vip: '10.0.1.100', ip: '10.0.1.7' }])
    const lbObserved = observedLb(before, lbSysctls('nftables'))
    const host = { ...emptyNode.host, namespaces: ['sn-lb-4097'] }
    const steps = planLoadBalancer(lb, 'nftables', host, lbObserved, undefined).steps
    expect(steps.at(-1)).toEqual({
      tool: 'conntrack',
      netns: 'sn-lb-4097',
      args: ['-D', '-d', '10.0.1.100', '-r', '10.0.1.7'],
    })
    expect(toBatches(steps).at(-1)).toEqual({
      argv: ['ip', 'netns', 'exec', 'sn-lb-4097', 'sh', '-c', 'cat | exec conntrack -R -'],
      input: '-D -d 10.0.1.100 -r 10.0.1.7\n',
      steps: 1,
    })
  })

  it('a draining backend (weight 0) leaves the numgen set but keeps its chain and its conntrack entries', () => {
    const draining = {
      ...web,
      backends: [web.backends[0] as { ip: string; weight: 1 }, { ip: '10.0.1.2', weight: 0 as const }],
    }
    const lb = check([draining, api])
    const w = lb.services[1]?.chain as string
    const before = observedAfter([web, api])
    expect(scriptLines(lb, before)).toEqual([
      `flush chain ip swarmnet-lb ${w}`,
      `add rule ip swarmnet-lb ${w} numgen random mod 1 vmap { 0 : goto ${w}-10.0.1.7 }`,
    ])
    expect(departedNftBackends(lb, before)).toEqual([])
  })

  it('a removed service: its map element first, then its chains flushed and deleted', () => {
    const lb = check([web])
    const a = check([web, api]).services[0]?.chain as string
    expect((lbNftScript(lb, observedAfter([web, api])) ?? '').split('\n')).toEqual([
      'delete element ip swarmnet-lb vips { 10.0.1.101 }',
      `flush chain ip swarmnet-lb ${a}-10.0.1.8`,
      `flush chain ip swarmnet-lb ${a}`,
      `delete chain ip swarmnet-lb ${a}-10.0.1.8`,
      `delete chain ip swarmnet-lb ${a}`,
    ])
  })

  it('rewrites the whole table when its skeleton drifted (flushed by hand, LB address changed)', () => {
    const flushed = observedAfter([web, api])
    const chains = new Map([...flushed.chains].map(([k]) => [k, [] as string[]]))
    expect(lbNftScript(check([web, api]), { ...flushed, chains })).toMatch(
      /^table ip swarmnet-lb \{\}\ndelete table/,
    )
    const moved = normalizeDesired({
      ...desired,
      loadBalancers: [{ ...lbSpec([web, api]), address: '10.0.1.249' }],
    }).loadBalancers[0]
    expect(lbNftScript(moved as never, observedAfter([web, api]))).toContain('snat to 10.0.1.249')
  })
})

describe('observation parsers', () => {
  it('reads chains, rule comments and the VIP map from nft -j (captured on kernel 6.18, nft 1.0.6)', () => {
    const json = {
      nftables: [
        { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
        { table: { family: 'ip', name: 'swarmnet-lb', handle: 1 } },
        {
          map: {
            family: 'ip',
            name: 'vips',
            table: 'swarmnet-lb',
            type: 'ipv4_addr',
            handle: 7,
            map: 'verdict',
            elem: [['10.9.0.100', { goto: { target: 'svc-a' } }]],
          },
        },
        {
          chain: {
            family: 'ip',
            table: 'swarmnet-lb',
            name: 'prerouting',
            handle: 1,
            type: 'nat',
            hook: 'prerouting',
            prio: -100,
            policy: 'accept',
          },
        },
        { chain: { family: 'ip', table: 'swarmnet-lb', name: 'svc-a', handle: 3 } },
        { chain: { family: 'ip', table: 'swarmnet-lb', name: 'svc-a-10.9.0.5', handle: 4 } },
        {
          rule: {
            family: 'ip',
            table: 'swarmnet-lb',
            chain: 'prerouting',
            handle: 8,
            comment: 'sn:pre:1',
            expr: [{ vmap: { key: { payload: { protocol: 'ip', field: 'daddr' } }, data: '@vips' } }],
          },
        },
        {
          rule: {
            family: 'ip',
            table: 'swarmnet-lb',
            chain: 'svc-a-10.9.0.5',
            handle: 12,
            comment: 'sn:y',
            expr: [{ dnat: { addr: '10.9.0.5' } }],
          },
        },
      ],
    }
    expect(parseLbTable(json)).toEqual({
      chains: new Map([
        ['prerouting', ['sn:pre:1']],
        ['svc-a', []],
        ['svc-a-10.9.0.5', ['sn:y']],
      ]),
      vips: new Map([['10.9.0.100', 'svc-a']]),
      marks: undefined,
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
