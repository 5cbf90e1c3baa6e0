import { describe, expect, it } from 'vitest'
import { toBatches } from '../src/executor.js'
import { lbSysctls, planLoadBalancer, planLoadBalancerDelta } from '../src/lb.js'
import { departedNftBackends, fullLbScript, lbDelta, lbNftScript, lbTable } from '../src/lb-nft.js'
import { parseLbTable } from '../src/observe-lb.js'
import { describePlan } from '../src/plan.js'
import { normalizeDesired } from '../src/spec.js'
import { checkLoadBalancer } from '../src/spec-lb.js'
import { desired, emptyNode, read } from './fixtures.js'
import { api, captured, check, lbSpec, observedAfter, observedLb, scriptLines, web } from './lb-fixtures.js'

const T = 'ip swarmnet-lb'
const cache = { id: 'cache', vip: '10.0.1.103', backends: [{ ip: '10.0.1.4', weight: 1 as const }] }
const prerouting = (...ks: number[]) => [
  `flush chain ${T} prerouting`,
  ...ks.map(
    (k) =>
      `add rule ${T} prerouting ip daddr @live-${k} dnat to ip daddr . numgen random mod ${k} map @bk-${k}`,
  ),
  `add rule ${T} prerouting ip daddr @none meta l4proto tcp reject with tcp reset`,
  `add rule ${T} prerouting ip daddr @none reject with icmp type port-unreachable`,
]

describe('nftables backend: the whole table', () => {
  it('sets and maps by live-backend count K, one prerouting rule per K in K order, reject for none', () => {
    expect(fullLbScript(check(captured)).replace(/ comment "sn:[0-9a-f]{12}"/g, '')).toBe(
      [
        'table ip swarmnet-lb {}',
        'delete table ip swarmnet-lb',
        'table ip swarmnet-lb {',
        '  set none {',
        '    type ipv4_addr;',
        '    elements = { 10.0.1.102 }',
        '  }',
        '  set backends {',
        '    type ipv4_addr . ipv4_addr;',
        '    elements = { 10.0.1.101 . 10.0.1.8, 10.0.1.102 . 10.0.1.3, 10.0.1.100 . 10.0.1.2, 10.0.1.100 . 10.0.1.7, 10.0.1.100 . 10.0.1.9 }',
        '  }',
        '  set live-1 {',
        '    type ipv4_addr;',
        '    elements = { 10.0.1.101 }',
        '  }',
        '  set live-2 {',
        '    type ipv4_addr;',
        '    elements = { 10.0.1.100 }',
        '  }',
        '  map bk-1 {',
        '    typeof ip daddr . numgen random mod 1 : ip daddr;',
        '    elements = { 10.0.1.101 . 0 : 10.0.1.8 }',
        '  }',
        '  map bk-2 {',
        '    typeof ip daddr . numgen random mod 1 : ip daddr;',
        '    elements = { 10.0.1.100 . 0 : 10.0.1.2, 10.0.1.100 . 1 : 10.0.1.7 }',
        '  }',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    ip daddr @live-1 dnat to ip daddr . numgen random mod 1 map @bk-1',
        '    ip daddr @live-2 dnat to ip daddr . numgen random mod 2 map @bk-2',
        '    ip daddr @none meta l4proto tcp reject with tcp reset',
        '    ip daddr @none reject with icmp type port-unreachable',
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    ct status dnat snat to 10.0.1.250',
        '  }',
        '}',
      ].join('\n'),
    )
  })

  it('an empty LB: the two sets, no K rule', () => {
    const script = fullLbScript(check([]))
    expect(script).toContain('set none {')
    expect(script).toContain('set backends {')
    expect(script).not.toContain('live-')
    expect(script).not.toContain('elements')
  })
})

describe('nftables backend: the delta', () => {
  it('is silent when the table matches, read back from the kernel or taken from the spec', () => {
    const parsed = parseLbTable(JSON.parse(read('lb-table.json')))
    expect(parsed).toEqual(lbTable(check(captured)))
    expect(lbNftScript(check(captured), parsed)).toBeUndefined()
    expect(lbNftScript(check([web, api]), observedAfter([web, api]))).toBeUndefined()
  })

  it('from the observed JSON equals the delta from the desired state of the same table', () => {
    const parsed = parseLbTable(JSON.parse(read('lb-table.json')))
    const base = lbTable(check(captured))
    const targets = [
      [web, api],
      [...captured, cache],
      [],
      [{ ...web, backends: [{ ip: '10.0.1.9', weight: 1 as const }] }, api],
      captured.map((s) => ({ ...s, backends: [] })),
    ]
    for (const t of targets) {
      const script = lbNftScript(check(t), parsed)
      expect(script).toBeDefined()
      expect(script).toBe(lbNftScript(check(t), base))
    }
  })

  it('a new service sends only its elements (no other VIP, no rule)', () => {
    const lb = check([web, api, cache])
    expect(scriptLines(lb, observedAfter([web, api]))).toEqual([
      `add element ${T} backends { 10.0.1.103 . 10.0.1.4 }`,
      `add element ${T} live-1 { 10.0.1.103 }`,
      `add element ${T} bk-1 { 10.0.1.103 . 0 : 10.0.1.4 }`,
    ])
  })

  it('a removed service: its elements go, prerouting loses its K before that K`s set and map are deleted, last', () => {
    const lb = check([web])
    const before = observedAfter([web, api])
    expect(scriptLines(lb, before)).toEqual([
      `delete element ${T} backends { 10.0.1.101 . 10.0.1.8 }`,
      ...prerouting(2),
      `delete set ${T} live-1`,
      `delete map ${T} bk-1`,
    ])
    expect(departedNftBackends(lb, before)).toEqual([{ vip: '10.0.1.101', ip: '10.0.1.8' }])
  })

  it('a backend replaced at the same count: the map value is deleted before it is added again', () => {
    const lb = check([{ ...web, backends: [{ ip: '10.0.1.3', weight: 1 }, web.backends[0] as never] }, api])
    const before = observedAfter([web, api])
    expect(scriptLines(lb, before)).toEqual([
      `delete element ${T} backends { 10.0.1.100 . 10.0.1.2 }`,
      `delete element ${T} bk-2 { 10.0.1.100 . 0 }`,
      `add element ${T} backends { 10.0.1.100 . 10.0.1.3 }`,
      `add element ${T} bk-2 { 10.0.1.100 . 0 : 10.0.1.3 }`,
    ])
    expect(departedNftBackends(lb, before)).toEqual([{ vip: '10.0.1.100', ip: '10.0.1.2' }])
  })

  it('a backend count change: new K set and map first, its rule in K order, the unused K deleted last', () => {
    const grown = { ...web, backends: [...web.backends, { ip: '10.0.1.9', weight: 1 as const }] }
    expect(scriptLines(check([grown, api]), observedAfter([web, api]))).toEqual([
      `add set ${T} live-3 { type ipv4_addr; }`,
      `add map ${T} bk-3 { typeof ip daddr . numgen random mod 1 : ip daddr; }`,
      `add element ${T} backends { 10.0.1.100 . 10.0.1.9 }`,
      `add element ${T} live-3 { 10.0.1.100 }`,
      `add element ${T} bk-3 { 10.0.1.100 . 0 : 10.0.1.2, 10.0.1.100 . 1 : 10.0.1.7, 10.0.1.100 . 2 : 10.0.1.9 }`,
      ...prerouting(1, 3),
      `delete set ${T} live-2`,
      `delete map ${T} bk-2`,
    ])
  })

  it('a count change between K still in use moves the elements and leaves prerouting alone', () => {
    const cache2 = { ...cache, backends: [...cache.backends, { ip: '10.0.1.5', weight: 1 as const }] }
    const shrunk = { ...web, backends: [{ ip: '10.0.1.2', weight: 1 as const }] }
    expect(scriptLines(check([shrunk, api, cache2]), observedAfter([web, api, cache2]))).toEqual([
      `delete element ${T} backends { 10.0.1.100 . 10.0.1.7 }`,
      `delete element ${T} live-2 { 10.0.1.100 }`,
      `delete element ${T} bk-2 { 10.0.1.100 . 0, 10.0.1.100 . 1 }`,
      `add element ${T} live-1 { 10.0.1.100 }`,
      `add element ${T} bk-1 { 10.0.1.100 . 0 : 10.0.1.2 }`,
    ])
  })

  it('a draining backend (weight 0) leaves bk-K but stays in backends: no conntrack deletion', () => {
    const draining = { ...web, backends: [web.backends[0] as never, { ip: '10.0.1.2', weight: 0 as const }] }
    const lb = check([draining, api])
    const before = observedAfter([web, api])
    expect(scriptLines(lb, before)).toEqual([
      `add element ${T} live-1 { 10.0.1.100 }`,
      `add element ${T} bk-1 { 10.0.1.100 . 0 : 10.0.1.7 }`,
      ...prerouting(1),
      `delete set ${T} live-2`,
      `delete map ${T} bk-2`,
    ])
    expect(departedNftBackends(lb, before)).toEqual([])
  })

  it('no live backend: the VIP goes to set none (refused); a draining one keeps its record', () => {
    const lb = check([web, { ...api, backends: [{ ip: '10.0.1.8', weight: 0 }] }])
    const before = observedAfter([web, api])
    expect(scriptLines(lb, before)).toEqual([
      `add element ${T} none { 10.0.1.101 }`,
      ...prerouting(2),
      `delete set ${T} live-1`,
      `delete map ${T} bk-1`,
    ])
    expect(departedNftBackends(lb, before)).toEqual([])
    expect(departedNftBackends(check([web, { ...api, backends: [] }]), before)).toEqual([
      { vip: '10.0.1.101', ip: '10.0.1.8' },
    ])
  })

  it('skeleton drift: the whole table when a base chain, the SNAT address or a set kind differs', () => {
    const lb = check([web, api])
    const have = observedAfter([web, api])
    const full = /^table ip swarmnet-lb \{\}\ndelete table/
    // `nft flush table` by hand: every chain empty
    const flushed = { ...have, chains: new Map([...have.chains].map(([k]) => [k, [] as string[]])) }
    expect(lbNftScript(lb, flushed)).toMatch(full)
    // prerouting alone emptied: only it is rewritten
    const pre = { ...have, chains: new Map([...have.chains, ['prerouting', []]]) }
    expect(scriptLines(lb, pre)).toEqual(prerouting(1, 2))
    // the old shape (a chain per service, map vips) or the IPVS backend's table
    const old = {
      chains: new Map([...have.chains, ['svc-web-0123456789', []]]),
      sets: new Map(),
      maps: new Map([['vips', new Map([['10.0.1.100', 'goto svc-web-0123456789']])]]),
    }
    expect(lbNftScript(lb, old)).toMatch(full)
    const ipvs = { chains: new Map([['input', ['sn:x']]]), sets: new Map(), maps: new Map() }
    expect(lbNftScript(lb, ipvs)).toMatch(full)
    const kind = { ...have, sets: new Map([...have.sets, ['bk-2', new Set<string>()]]) }
    expect(lbNftScript(lb, kind)).toMatch(full)
    const moved = normalizeDesired({
      ...desired,
      loadBalancers: [{ ...lbSpec([web, api]), address: '10.0.1.249' }],
    }).loadBalancers[0]
    expect(lbNftScript(moved as never, have)).toMatch(/snat to 10.0.1.249/)
    expect(lbNftScript(moved as never, have)).toMatch(full)
  })

  it('a removed backend: its conntrack entries go last, after the rules stop choosing it', () => {
    const lb = check([{ ...web, backends: [{ ip: '10.0.1.2', weight: 1 }] }, api])
    const lbObserved = observedLb(observedAfter([web, api]), lbSysctls('nftables'))
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
})

describe('fast path: the delta between two specs, nothing observed', () => {
  it('a new service: one nft transaction with its elements, then its VIP address, owned by the LB', () => {
    const plan = planLoadBalancerDelta(check([web, api]), check([web, api, cache]))
    expect(describePlan(plan ?? { steps: [], warnings: [] })).toEqual([
      'ip netns exec sn-lb-4097 nft -f - <<3 lines>>',
      'ip -n sn-lb-4097 addr replace 10.0.1.103/32 dev eth0',
    ])
    expect(plan?.steps.every((s) => s.owners?.join() === 'lb:n1,network:n1')).toBe(true)
    const nft = plan?.steps[0]
    expect(nft?.tool === 'nft' ? nft.script : '').toBe(
      lbNftScript(check([web, api, cache]), observedAfter([web, api])),
    )
  })

  it('a removed service: its elements, its VIP address, then its backends` conntrack entries, in 3 processes', () => {
    const plan = planLoadBalancerDelta(check([web, api]), check([web])) ?? { steps: [], warnings: [] }
    expect(describePlan(plan).slice(1)).toEqual([
      'ip -n sn-lb-4097 addr del 10.0.1.101/32 dev eth0',
      'ip netns exec sn-lb-4097 conntrack -D -d 10.0.1.101 -r 10.0.1.8',
    ])
    expect(toBatches(plan.steps)).toHaveLength(3)
  })

  it('a service whose VIP moves: the old address goes, the new one comes, the other VIPs are not named', () => {
    const plan = planLoadBalancerDelta(check([web, api]), check([web, { ...api, vip: '10.0.1.120' }]))
    expect(describePlan(plan ?? { steps: [], warnings: [] }).slice(1)).toEqual([
      'ip -n sn-lb-4097 addr del 10.0.1.101/32 dev eth0',
      'ip -n sn-lb-4097 addr replace 10.0.1.120/32 dev eth0',
      'ip netns exec sn-lb-4097 conntrack -D -d 10.0.1.101 -r 10.0.1.8',
    ])
  })

  it('nothing changed: no step; the leg changed (LB address): no delta, the observed plan is needed', () => {
    expect(planLoadBalancerDelta(check([web]), check([web]))?.steps).toEqual([])
    const moved = normalizeDesired({
      ...desired,
      loadBalancers: [{ ...lbSpec([web]), address: '10.0.1.249' }],
    }).loadBalancers[0]
    expect(planLoadBalancerDelta(check([web]), moved as never)).toBeUndefined()
  })

  it('computed over the changed services only, it equals the delta between the two whole tables', () => {
    const states = [
      [web, api],
      [web, api, cache],
      [{ ...web, backends: [{ ip: '10.0.1.3', weight: 1 as const }] }, api],
      [{ ...web, backends: [...web.backends, { ip: '10.0.1.9', weight: 1 as const }] }, api],
      [{ ...web, backends: [web.backends[0] as never, { ip: '10.0.1.2', weight: 0 as const }] }],
      [{ ...api, vip: '10.0.1.100' }],
      [],
      captured,
    ]
    for (const a of states)
      for (const b of states) {
        const [prev, next] = [check(a), check(b)]
        const d = lbDelta(prev, next)
        expect(d.script).toBe(lbNftScript(next, lbTable(prev)))
        const key = (x: { vip: string; ip: string }) => `${x.vip} ${x.ip}`
        expect(d.departed.map(key).sort()).toEqual(departedNftBackends(next, lbTable(prev)).map(key).sort())
      }
  })

  it('re-checks only the services that changed: the others keep their checked record', () => {
    const prev = check([web, api])
    const net = prev.network
    const next = checkLoadBalancer(lbSpec([web, api, cache]), net, prev)
    expect(next.services.find((s) => s.id === 'web')).toBe(prev.services.find((s) => s.id === 'web'))
    expect(next).toEqual(check([web, api, cache]))
    // a changed or new service is validated as ever
    expect(() => checkLoadBalancer(lbSpec([{ ...web, vip: '10.0.9.1' }, api]), net, prev)).toThrow(/outside/)
    expect(() => checkLoadBalancer(lbSpec([web, { ...cache, vip: web.vip }]), net, prev)).toThrow(/already/)
    const dup = { ...web, backends: [...web.backends, { ip: '10.0.1.7', weight: 0 as const }] }
    expect(checkLoadBalancer(lbSpec([dup]), net, prev).services[0]?.backends).toHaveLength(2)
  })
})
