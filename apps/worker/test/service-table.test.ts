import type { Entry } from '@swarmnet/netdb'
import { describe, expect, it } from 'vitest'
import { lbServicesOf, lookupService, servicesOf } from '../src/service-table.js'
import { assignGatewayIps, overlayPeers } from '../src/service-view.js'

const mac = '02:42:0a:00:01:01'
const task = (
  ip: string,
  id: string,
  name: string,
  extra: Partial<NonNullable<Entry['svc']>> = {},
): Entry => ({
  ip,
  mac,
  vtep: '192.0.2.1',
  node: 'n1',
  svc: { id, name, aliases: [`${name}.1`], ...extra },
})
const vip = (ip: string, id: string, name: string): Entry => ({
  ip,
  mac,
  vtep: '192.0.2.9',
  node: 'mgr',
  svc: { id, name, vip: true },
})

describe('service table', () => {
  const entries: Entry[] = [
    vip('10.0.1.2', 'w1', 'web'),
    task('10.0.1.5', 'w1', 'web'),
    task('10.0.1.6', 'w1', 'web', { disabled: true }),
    task('10.0.1.4', 'w1', 'web'),
    task('10.0.1.7', 'd1', 'dns'),
    vip('10.0.1.3', 'e1', 'empty'),
    { ip: '10.0.1.9', mac, vtep: '192.0.2.3', node: 'n3' }, // an LB address: a peer, no service
  ]
  const t = servicesOf(entries)

  it('gives a vip service its VIP and every task, draining ones marked', () => {
    expect(t.byName.get('web')).toEqual({
      id: 'w1',
      name: 'web',
      vip: '10.0.1.2',
      tasks: [
        { ip: '10.0.1.4', node: 'n1', disabled: false },
        { ip: '10.0.1.5', node: 'n1', disabled: false },
        { ip: '10.0.1.6', node: 'n1', disabled: true },
      ],
    })
  })

  it('load balancers: each VIP service, draining backends at weight 0, one with no task too', () => {
    expect(lbServicesOf(t)).toEqual([
      { id: 'e1', vip: '10.0.1.3', backends: [] },
      {
        id: 'w1',
        vip: '10.0.1.2',
        backends: [
          { ip: '10.0.1.4', weight: 1 },
          { ip: '10.0.1.5', weight: 1 },
          { ip: '10.0.1.6', weight: 0 },
        ],
      },
    ])
  })

  it('resolves the VIP, tasks.<name> to live tasks, dnsrr to tasks, aliases; others upstream or NXDOMAIN', () => {
    const none = () => false
    expect(lookupService('WEB', [t], none)).toEqual({ kind: 'a', ips: ['10.0.1.2'] })
    expect(lookupService('tasks.web', [t], none)).toEqual({ kind: 'a', ips: ['10.0.1.4', '10.0.1.5'] })
    expect(lookupService('dns', [t], none)).toEqual({ kind: 'a', ips: ['10.0.1.7'] })
    expect(lookupService('empty', [t], none)).toEqual({ kind: 'a', ips: ['10.0.1.3'] })
    expect(lookupService('tasks.empty', [t], none)).toEqual({ kind: 'a', ips: [] })
    expect(lookupService('web.1', [t], none)).toEqual({ kind: 'a', ips: ['10.0.1.5', '10.0.1.4'] })
    expect(lookupService('example.org', [t], none)).toBeUndefined()
    expect(lookupService('secret', [t], (n) => n === 'secret')).toEqual({ kind: 'nxdomain' })
    expect(lookupService('tasks.secret', [t], (n) => n === 'secret')).toEqual({ kind: 'nxdomain' })
  })

  it('overlay peers leave out the service-level records', () => {
    expect(overlayPeers(entries).map((p) => p.ip)).toEqual([
      '10.0.1.5',
      '10.0.1.6',
      '10.0.1.4',
      '10.0.1.7',
      '10.0.1.9',
    ])
  })

  it('gateway addresses: the lowest free ones, kept when already given', () => {
    const eps: Array<{ id: string; gatewayIp?: string }> = [
      { id: 'a', gatewayIp: '172.18.0.2' },
      { id: 'b' },
      { id: 'c' },
    ]
    const got = assignGatewayIps(eps, { address: '172.18.0.1', subnet: '172.18.0.0/16' })
    expect(got.map((e) => e.id)).toEqual(['b', 'c'])
    expect(eps.map((e) => e.gatewayIp)).toEqual(['172.18.0.2', '172.18.0.3', '172.18.0.4'])
  })
})
