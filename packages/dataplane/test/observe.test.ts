import { describe, expect, it } from 'vitest'
import { parseJsonLines } from '../src/observe.js'
import { parseProbe } from '../src/probe.js'
import { fixtureHost, fixtureOverlay, fixtureSandbox, read } from './fixtures.js'

describe('parsers of real ip -j / bridge -j / nft -j output', () => {
  it('splits batch output into one array per command', () => {
    expect(parseJsonLines(read('overlay-ip.jsonl'))).toHaveLength(3)
    expect(parseJsonLines('')).toEqual([])
  })

  it('reads the overlay namespace: bridge, vxlan parameters, neighbours, FDB', () => {
    const ov = fixtureOverlay()
    const br = ov.links.get('br0')
    expect(br).toMatchObject({ kind: 'bridge', mtu: 1450, up: true, addresses: ['10.0.1.1/24'] })
    expect(ov.links.get('vxlan0')).toMatchObject({
      kind: 'vxlan',
      master: 'br0',
      mtu: 1450,
      up: true,
      vxlan: { id: 4097, port: 4789, local: '192.0.2.1', learning: false, proxy: true },
    })
    expect(ov.links.get('ve-task1')).toMatchObject({ kind: 'veth', master: 'br0', up: true })
    expect(ov.neigh.map((n) => [n.ip, n.mac, n.permanent]).sort()).toEqual([
      ['10.0.1.7', '02:42:0a:00:01:07', true],
      ['10.0.1.8', '02:42:0a:00:01:08', true],
    ])
    const remote = ov.fdb.filter((f) => f.self && f.dst !== undefined)
    expect(remote.map((f) => [f.mac, f.dst, f.permanent]).sort()).toEqual([
      ['02:42:0a:00:01:07', '192.0.2.2', true],
      ['02:42:0a:00:01:08', '192.0.2.3', true],
    ])
  })

  it('reads the sandbox: eth0 with MAC and address, gateway leg, default route', () => {
    const sb = fixtureSandbox()
    expect(sb.links.get('eth0')).toMatchObject({
      kind: 'veth',
      mac: '02:42:0a:00:01:02',
      mtu: 1450,
      addresses: ['10.0.1.2/24'],
    })
    expect(sb.links.get('gwbr0')).toMatchObject({ kind: 'veth', mtu: 1500, addresses: ['172.18.0.2/16'] })
    expect(sb.routes).toContainEqual({ dst: 'default', gateway: '172.18.0.1', dev: 'gwbr0' })
  })

  it('reads the host: namespaces, gateway bridge, our nft rules', () => {
    const host = fixtureHost()
    expect([...host.namespaces].sort()).toEqual(['sn-ep-task1', 'sn-ov-4097'])
    expect(host.links.get('sn_gwbridge')).toMatchObject({ kind: 'bridge', addresses: ['172.18.0.1/16'] })
    expect(host.links.get('sngw-task1')).toMatchObject({ kind: 'veth', master: 'sn_gwbridge' })
    expect(host.nftRules).toHaveLength(3)
    expect(host.nftRules[0]).toMatch(/^ip\/postrouting\/sn:masq:[0-9a-f]{8}$/)
  })

  it('parses the capability probe', () => {
    expect(
      parseProbe('vxlan=ok\nnftables=ok\nipvs=no /proc/net/ip_vs\nesp=Error: Requested type not found\n'),
    ).toEqual({
      vxlan: true,
      nftables: true,
      ipvs: false,
      esp: false,
      errors: { ipvs: 'no /proc/net/ip_vs', esp: 'Error: Requested type not found' },
    })
  })
})
