import { describe, expect, it } from 'vitest'
import { toBatches } from '../src/executor.js'
import { lbSysctls, planLoadBalancer } from '../src/lb.js'
import { fwmarks, ipvsCommands, ipvsNftScript } from '../src/lb-ipvs.js'
import { parseIpvsSave } from '../src/observe-lb.js'
import { describePlan } from '../src/plan.js'
import { emptyNode } from './fixtures.js'
import { api, check, observedLb, web } from './lb-fixtures.js'

// `ipvsadm -S -n` (what ipvsadm-save prints) in a Docker LB sandbox, as published in a
// write-up of Docker's overlay internals, plus a second service with a draining
// destination and a port service (not ours: fwmark services only).
const IPVS_SAVE = `-A -f 256 -s rr
-a -f 256 -r 10.0.0.4:0 -m -w 1
-A -f 257 -s rr
-a -f 257 -r 10.0.1.3:0 -m -w 1
-a -f 257 -r 10.0.1.9:0 -m -w 0
-A -t 10.0.0.10:80 -s wlc
-a -t 10.0.0.10:80 -r 10.0.0.11:80 -m -w 1
`

describe('IPVS backend planner', () => {
  it('parses ipvsadm-save -n: fwmark services and their destinations', () => {
    expect(parseIpvsSave(IPVS_SAVE)).toEqual([
      { fwmark: 256, scheduler: 'rr', dests: [{ ip: '10.0.0.4', weight: 1, forward: 'm' }] },
      {
        fwmark: 257,
        scheduler: 'rr',
        dests: [
          { ip: '10.0.1.3', weight: 1, forward: 'm' },
          { ip: '10.0.1.9', weight: 0, forward: 'm' },
        ],
      },
    ])
    expect(parseIpvsSave('')).toEqual([])
  })

  it('derives firewall marks from the service id alone: stable, ≥ 0x100, collisions probed', () => {
    const m1 = fwmarks(['web', 'api'])
    const m2 = fwmarks(['api', 'web', 'db'])
    expect(m1.get('web')).toBe(m2.get('web'))
    expect(m1.get('api')).toBe(m2.get('api'))
    for (const m of m2.values()) expect(m).toBeGreaterThanOrEqual(0x100)
    expect(m1.get('web')).toBe(0x100 + (0x4b5e57f6 % (2 ** 31 - 0x100)))
    expect(new Set(m2.values()).size).toBe(3)
    // 20 000 ids: all distinct
    const many = fwmarks(Array.from({ length: 20_000 }, (_, i) => `svc${i}`))
    expect(new Set(many.values()).size).toBe(20_000)
  })

  it('plans IPVS from nothing: a fwmark service (rr) per VIP, masqueraded destinations with weights', () => {
    const lb = check([{ ...web, backends: [...web.backends, { ip: '10.0.1.9', weight: 0 }] }, api])
    const marks = fwmarks(['api', 'web'])
    const [a, w] = [marks.get('api'), marks.get('web')]
    expect(ipvsCommands(lb, []).map((c) => c.join(' '))).toEqual([
      `-A -f ${a} -s rr`,
      `-A -f ${w} -s rr`,
      `-a -f ${a} -r 10.0.1.8:0 -m -w 1`,
      `-a -f ${w} -r 10.0.1.2:0 -m -w 1`,
      `-a -f ${w} -r 10.0.1.7:0 -m -w 1`,
      `-a -f ${w} -r 10.0.1.9:0 -m -w 0`,
    ])
    expect(ipvsNftScript(lb, undefined)?.replace(/ comment "sn:[0-9a-f]{12}"/g, '')).toBe(
      [
        'table ip swarmnet-lb {}',
        'delete table ip swarmnet-lb',
        'table ip swarmnet-lb {',
        '  map marks {',
        '    type ipv4_addr : mark',
        `    elements = { 10.0.1.101 : ${a}, 10.0.1.100 : ${w} }`,
        '  }',
        '  chain input {',
        '    type filter hook input priority mangle; policy accept;',
        '    meta mark set ip daddr map @marks',
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    ip daddr 10.0.1.0/24 meta mark != 0 snat to 10.0.1.250',
        '  }',
        '}',
      ].join('\n'),
    )
  })

  it('adds IPVS destinations only once the LB leg has its address (no route: "address not unicast")', () => {
    const lb = check([web])
    const steps = planLoadBalancer(
      lb,
      'ipvs',
      { ...emptyNode.host, namespaces: [] },
      undefined,
      undefined,
    ).steps
    const leg = steps.findIndex(
      (s) => s.tool === 'ip' && s.args.join(' ').startsWith('addr replace 10.0.1.250/24'),
    )
    const firstIpvs = steps.findIndex((s) => s.tool === 'ipvs')
    const nft = steps.findIndex((s) => s.tool === 'nft')
    expect(leg).toBeGreaterThan(nft)
    expect(firstIpvs).toBeGreaterThan(leg)
  })

  it('plans IPVS against ipvsadm-save: foreign marks deleted, weights edited, departed destinations removed', () => {
    const w = fwmarks(['web']).get('web') as number
    const observed = parseIpvsSave(
      `-A -f 256 -s rr\n-a -f 256 -r 10.0.0.4:0 -m -w 1\n-A -f ${w} -s wlc\n-a -f ${w} -r 10.0.1.2:0 -m -w 1\n-a -f ${w} -r 10.0.1.3:0 -m -w 1\n-a -f ${w} -r 10.0.1.7:0 -m -w 1\n`,
    )
    const lb = check([
      {
        ...web,
        backends: [
          { ip: '10.0.1.2', weight: 0 },
          { ip: '10.0.1.7', weight: 1 },
        ],
      },
    ])
    expect(ipvsCommands(lb, observed).map((c) => c.join(' '))).toEqual([
      '-D -f 256',
      `-E -f ${w} -s rr`,
      `-d -f ${w} -r 10.0.1.3:0`,
      `-e -f ${w} -r 10.0.1.2:0 -m -w 0`,
    ])
    const table = {
      chains: new Map(),
      sets: new Map(),
      maps: new Map([['marks', new Map([['10.0.1.100', String(w)]])]]),
    }
    const host = { ...emptyNode.host, namespaces: ['sn-lb-4097'] }
    const seen = observedLb(table, lbSysctls('ipvs'), observed)
    const steps = planLoadBalancer(lb, 'ipvs', host, seen, undefined).steps
    expect(
      describePlan({ steps: steps.filter((s) => s.tool === 'ipvs' || s.tool === 'conntrack'), warnings: [] }),
    ).toEqual([
      'ip netns exec sn-lb-4097 ipvsadm -D -f 256',
      `ip netns exec sn-lb-4097 ipvsadm -E -f ${w} -s rr`,
      `ip netns exec sn-lb-4097 ipvsadm -d -f ${w} -r 10.0.1.3:0`,
      `ip netns exec sn-lb-4097 ipvsadm -e -f ${w} -r 10.0.1.2:0 -m -w 0`,
      'ip netns exec sn-lb-4097 conntrack -D -r 10.0.0.4',
      'ip netns exec sn-lb-4097 conntrack -D -d 10.0.1.100 -r 10.0.1.3',
    ])
    expect(toBatches(steps.filter((s) => s.tool === 'ipvs')).map((b) => [b.argv.join(' '), b.input])).toEqual(
      [
        [
          'ip netns exec sn-lb-4097 ipvsadm -R',
          `-D -f 256\n-E -f ${w} -s rr\n-d -f ${w} -r 10.0.1.3:0\n-e -f ${w} -r 10.0.1.2:0 -m -w 0\n`,
        ],
      ],
    )
    expect(
      ipvsCommands(
        lb,
        parseIpvsSave(
          `-A -f ${w} -s rr\n-a -f ${w} -r 10.0.1.2:0 -m -w 0\n-a -f ${w} -r 10.0.1.7:0 -m -w 1\n`,
        ),
      ),
    ).toEqual([])
  })

  it('sets the §5.2 sysctls in the LB namespace with IPVS only', () => {
    expect([...lbSysctls('ipvs')]).toEqual([
      ['net.ipv4.ip_forward', '1'],
      ['net.ipv4.conf.all.send_redirects', '0'],
      ['net.ipv4.conf.eth0.send_redirects', '0'],
      ['net.ipv4.vs.conn_reuse_mode', '0'],
      ['net.ipv4.vs.expire_nodest_conn', '1'],
      ['net.ipv4.vs.expire_quiescent_template', '1'],
      ['net.ipv4.vs.conntrack', '1'],
    ])
    expect([...lbSysctls('nftables').keys()].some((k) => k.includes('.vs.'))).toBe(false)
  })
})
