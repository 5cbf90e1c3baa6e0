// @swarmnet/dataplane on the real kernel: two simulated hosts joined by an underlay,
// overlay traffic across vxlan, drift repair, cleanup, MASQUERADE to an "ext" namespace,
// and the number of processes needed to program many peers.
import { createDataplane, type Dataplane, type NetworkSpec } from '@swarmnet/dataplane'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, type SimHost, type SimLab, silentLogger, waitFor } from './helpers/hosts.js'

const logger = silentLogger

const peerOf = (ip: string, vtep: string) => ({
  ip,
  mac: `02:42:${ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(':')}`,
  vtep,
})

async function json(host: SimHost, argv: string[]): Promise<Record<string, unknown>[]> {
  const out = await host.run(argv)
  return out.stdout.trim() === '' ? [] : (JSON.parse(out.stdout) as Record<string, unknown>[])
}

async function pingOk(host: SimHost, netns: string, target: string): Promise<boolean> {
  const r = await host.run(['ip', 'netns', 'exec', netns, 'ping', '-c1', '-W1', target], { reject: false })
  return r.exitCode === 0
}

async function ourState(host: SimHost): Promise<{ netns: string[]; links: string[]; nft: string }> {
  const netns = (await json(host, ['ip', '-j', 'netns', 'list'])).map((n) => String(n.name))
  const links = (await json(host, ['ip', '-j', 'link', 'show'])).map((l) => String(l.ifname))
  const nft = (await host.run(['nft', 'list', 'tables'])).stdout
  return {
    netns: netns.filter((n) => n.startsWith('sn-')),
    links: links.filter((l) => l.startsWith('sn')),
    nft: nft.includes('swarmnet') ? 'swarmnet' : '',
  }
}

describe('dataplane on the real kernel', () => {
  let lab: SimLab
  let h1: SimHost
  let h2: SimHost
  let dp1: Dataplane
  let dp2: Dataplane
  const spawned1: string[][] = []

  const network = (peers: NetworkSpec['peers']): NetworkSpec => ({
    id: 'net-a',
    vni: 4097,
    subnet: '10.0.1.0/24',
    gateway: '10.0.1.1',
    peers,
  })
  const e1 = { id: 'e1', attachments: [{ networkId: 'net-a', ip: '10.0.1.2' }] }
  const e2 = { id: 'e2', attachments: [{ networkId: 'net-a', ip: '10.0.1.3' }] }
  const peers = [peerOf('10.0.1.2', '192.0.2.1'), peerOf('10.0.1.3', '192.0.2.2')]

  beforeAll(async () => {
    lab = await createLab(2)
    ;[h1, h2] = lab.hosts as [SimHost, SimHost]
    dp1 = createDataplane(
      { logger },
      { advertiseAddress: h1.address, wrap: h1.wrap, onSpawn: (argv) => spawned1.push([...argv]) },
    )
    dp2 = createDataplane({ logger }, { advertiseAddress: h2.address, wrap: h2.wrap })
  })

  afterAll(async () => {
    await Promise.allSettled([dp1?.teardown(), dp2?.teardown()])
    await lab?.close()
  })

  it('builds overlay + sandboxes on two hosts; kernel state is as specified; ping crosses the vxlan', async () => {
    const r1 = await dp1.reconcile({ networks: [network(peers)], endpoints: [e1] })
    await dp2.reconcile({ networks: [network(peers)], endpoints: [e2] })
    expect(r1.steps).toBeGreaterThan(0)

    expect((await ourState(h1)).netns.sort()).toEqual(['sn-ep-e1', 'sn-ov-4097'])
    expect(await json(h1, ['ip', '-j', '-n', 'sn-ov-4097', 'neigh', 'show', 'dev', 'vxlan0'])).toEqual([
      { dst: '10.0.1.3', lladdr: '02:42:0a:00:01:03', state: ['PERMANENT'] },
    ])
    const fdb = await json(h1, ['bridge', '-j', '-n', 'sn-ov-4097', 'fdb', 'show', 'dev', 'vxlan0'])
    expect(fdb.filter((f) => f.dst !== undefined)).toEqual([
      { mac: '02:42:0a:00:01:03', dst: '192.0.2.2', linkNetNsId: 0, flags: ['self'], state: 'permanent' },
    ])
    const [vx] = await json(h1, ['ip', '-j', '-d', '-n', 'sn-ov-4097', 'link', 'show', 'vxlan0'])
    expect(vx).toMatchObject({
      master: 'br0',
      mtu: 1450,
      linkinfo: {
        info_kind: 'vxlan',
        info_data: { id: 4097, port: 4789, local: '192.0.2.1', learning: false },
      },
    })
    // The vxlan's UDP socket stays in the host namespace (on the underlay).
    expect((await h1.run(['ss', '-uln'])).stdout).toMatch(/:4789\b/)
    const [eth0] = await json(h1, ['ip', '-j', '-n', 'sn-ep-e1', 'addr', 'show', 'eth0'])
    expect(eth0).toMatchObject({ address: '02:42:0a:00:01:02', mtu: 1450 })
    expect(JSON.stringify(eth0?.addr_info)).toContain('"local":"10.0.1.2","prefixlen":24')

    await waitFor('ping e1 → e2 across the vxlan', async () =>
      (await pingOk(h1, 'sn-ep-e1', '10.0.1.3')) ? true : undefined,
    )
    await waitFor('ping e2 → e1', async () => ((await pingOk(h2, 'sn-ep-e2', '10.0.1.2')) ? true : undefined))
  })

  it('a second reconcile changes nothing', async () => {
    const r = await dp1.reconcile({ networks: [network(peers)], endpoints: [e1] })
    expect(r.steps).toBe(0)
  })

  it('a network the kernel refuses fails alone: its endpoint with it, everything else is programmed', async () => {
    const net = (id: string, vni: number, third: number): NetworkSpec => ({
      id,
      vni,
      subnet: `10.0.${third}.0/24`,
      gateway: `10.0.${third}.1`,
      peers: [],
    })
    const e3 = { id: 'e3', attachments: [{ networkId: 'net-b', ip: '10.0.3.2' }] }
    const e4 = { id: 'e4', attachments: [{ networkId: 'net-c', ip: '10.0.4.2' }] }
    const desired = {
      networks: [network(peers), net('net-b', 4099, 3), net('net-c', 4100, 4)],
      endpoints: [e1, e3, e4],
    }
    // another tool's vxlan device holds net-b's VNI on the same port: the kernel refuses ours
    const squatter = ['link', 'add', 'zzvx4099', 'type', 'vxlan', 'id', '4099', 'dstport', '4789']
    await h1.run(['ip', ...squatter, 'local', h1.address, 'nolearning'])
    try {
      const r = await dp1.reconcile(desired)
      expect(Object.fromEntries(r.failed)).toEqual({
        'network:net-b': expect.stringMatching(/VNI already exists/),
        'endpoint:e3': expect.stringMatching(/needs network:net-b/),
      })
      const [eth0] = await json(h1, ['ip', '-j', '-n', 'sn-ep-e4', 'addr', 'show', 'eth0'])
      expect(JSON.stringify(eth0?.addr_info)).toContain('"local":"10.0.4.2","prefixlen":24')
      expect((await ourState(h1)).netns).not.toContain('sn-ep-e3')
      await waitFor('e4 reaches its gateway', async () =>
        (await pingOk(h1, 'sn-ep-e4', '10.0.4.1')) ? true : undefined,
      )
      await h1.run(['ip', 'link', 'del', 'zzvx4099'])
      // the conflict gone, the next reconcile programs what failed
      const again = await dp1.reconcile(desired)
      expect(again.failed.size).toBe(0)
      expect((await ourState(h1)).netns).toContain('sn-ep-e3')
    } finally {
      await h1.run(['ip', 'link', 'del', 'zzvx4099'], { reject: false })
      const back = await dp1.reconcile({ networks: [network(peers)], endpoints: [e1] })
      expect(back.failed.size).toBe(0)
    }
    expect((await ourState(h1)).netns.sort()).toEqual(['sn-ep-e1', 'sn-ov-4097'])
  })

  it('restores neighbour and FDB entries deleted by hand', async () => {
    await h1.run(['ip', '-n', 'sn-ov-4097', 'neigh', 'del', '10.0.1.3', 'dev', 'vxlan0'])
    await h1.run([
      'bridge',
      '-n',
      'sn-ov-4097',
      'fdb',
      'del',
      '02:42:0a:00:01:03',
      'dev',
      'vxlan0',
      'dst',
      '192.0.2.2',
      'self',
    ])
    expect(await json(h1, ['ip', '-j', '-n', 'sn-ov-4097', 'neigh', 'show', 'dev', 'vxlan0'])).toEqual([])
    const r = await dp1.reconcile({ networks: [network(peers)], endpoints: [e1] })
    expect(r.steps).toBe(2)
    expect(await json(h1, ['ip', '-j', '-n', 'sn-ov-4097', 'neigh', 'show', 'dev', 'vxlan0'])).toEqual([
      { dst: '10.0.1.3', lladdr: '02:42:0a:00:01:03', state: ['PERMANENT'] },
    ])
    await waitFor('ping after repair', async () =>
      (await pingOk(h1, 'sn-ep-e1', '10.0.1.3')) ? true : undefined,
    )
  })

  it('reaches the ext namespace through the gateway bridge, masqueraded to the underlay address', async () => {
    const server = ['ip', 'netns', 'exec', lab.ext, process.execPath, '-e']
    const { execa } = await import('execa')
    const srv = execa(
      server[0] as string,
      [
        ...server.slice(1),
        "require('net').createServer((s)=>s.end(s.remoteAddress)).listen(8080,'203.0.113.10',()=>console.log('listening'))",
      ],
      { reject: false },
    )
    try {
      await new Promise<void>((resolve) =>
        srv.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()),
      )
      const client = `const s=require('net').connect(8080,'203.0.113.10');let d='';s.on('data',c=>d+=c);s.on('end',()=>{console.log(d);});s.on('error',e=>{console.error(e.message);process.exit(1)})`
      const seen = await waitFor('tcp from e1 to ext', async () => {
        const r = await h1.run(['ip', 'netns', 'exec', 'sn-ep-e1', process.execPath, '-e', client], {
          reject: false,
        })
        return r.exitCode === 0 ? r.stdout.trim() : undefined
      })
      expect(seen).toBe('192.0.2.1')
    } finally {
      srv.kill('SIGKILL')
      await srv
    }
  })

  it('drops traffic between two sandboxes on the gateway bridge', async () => {
    const e3 = { id: 'e3', attachments: [{ networkId: 'net-a', ip: '10.0.1.4' }] }
    await dp1.reconcile({
      networks: [network([...peers, peerOf('10.0.1.4', '192.0.2.1')])],
      endpoints: [e1, e3],
    })
    const [gw3] = await json(h1, ['ip', '-j', '-n', 'sn-ep-e3', 'addr', 'show', 'gwbr0'])
    const e3GatewayIp = String(
      ((gw3?.addr_info ?? []) as { family: string; local: string }[]).find((a) => a.family === 'inet')?.local,
    )
    expect(e3GatewayIp).toBe('172.18.0.3')
    await waitFor('e1 → its gateway', async () =>
      (await pingOk(h1, 'sn-ep-e1', '172.18.0.1')) ? true : undefined,
    )
    await waitFor('e1 → e3 on the overlay', async () =>
      (await pingOk(h1, 'sn-ep-e1', '10.0.1.4')) ? true : undefined,
    )
    expect(await pingOk(h1, 'sn-ep-e1', e3GatewayIp)).toBe(false)
  })

  it('programs 1 000 remote peers with O(1) processes', async () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      peerOf(`10.0.${2 + Math.floor(i / 250)}.${(i % 250) + 1}`, `192.0.2.${100 + (i % 50)}`),
    )
    const big: NetworkSpec = { id: 'net-b', vni: 4098, subnet: '10.0.0.0/16', gateway: '10.0.0.1', peers: [] }
    const e4 = { id: 'e4', attachments: [{ networkId: 'net-b', ip: '10.0.0.2' }] }
    await dp1.reconcile({ networks: [network(peers), big], endpoints: [e1, e4] })
    const before = spawned1.length
    const r = await dp1.setPeers('net-b', many)
    expect(r.steps).toBe(2000)
    expect(spawned1.length - before).toBe(r.processes)
    expect(r.processes).toBeLessThanOrEqual(4) // observe: ip + bridge; apply: ip + bridge
    const neigh = await json(h1, ['ip', '-j', '-n', 'sn-ov-4098', 'neigh', 'show', 'dev', 'vxlan0'])
    expect(neigh.filter((n) => (n.state as string[]).includes('PERMANENT'))).toHaveLength(1000)
    const fdb = await json(h1, ['bridge', '-j', '-n', 'sn-ov-4098', 'fdb', 'show', 'dev', 'vxlan0'])
    expect(fdb.filter((f) => f.dst !== undefined)).toHaveLength(1000)

    // A full reconcile of the node is O(namespaces), not O(entries), too.
    const again = await dp1.reconcile({
      networks: [network(peers), { ...big, peers: many }],
      endpoints: [e1, e4],
    })
    expect(again.steps).toBe(0)
    expect(again.processes).toBeLessThanOrEqual(3 + 2 * 2 + 2)
  })

  it('removing endpoints removes their namespaces, veths, the overlay and the gateway: cleaned', async () => {
    await dp1.reconcile({ networks: [network(peers)], endpoints: [e1] })
    expect((await ourState(h1)).netns.sort()).toEqual(['sn-ep-e1', 'sn-ov-4097'])
    expect((await ourState(h1)).links.sort()).toEqual(['sn_gwbridge', 'sngw-e1'])
    await dp1.reconcile({ networks: [network(peers)], endpoints: [] })
    expect(await ourState(h1)).toEqual({ netns: [], links: [], nft: '' })
    // Re-creating the same VNI and names at once must not trip over the dying namespaces.
    await dp1.reconcile({ networks: [network(peers)], endpoints: [e1] })
    expect((await ourState(h1)).netns.sort()).toEqual(['sn-ep-e1', 'sn-ov-4097'])
    await dp1.reconcile({ networks: [network(peers)], endpoints: [] })
    expect(await ourState(h1)).toEqual({ netns: [], links: [], nft: '' })
    await dp2.teardown()
    expect(await ourState(h2)).toEqual({ netns: [], links: [], nft: '' })
  })

  it('reports kernel capabilities', async () => {
    const caps = await dp1.capabilities()
    expect(caps.vxlan).toBe(true)
    expect(caps.nftables).toBe(true)
    const ipvs = (await h1.run(['test', '-e', '/proc/net/ip_vs'], { reject: false })).exitCode === 0
    expect(caps.ipvs).toBe(ipvs)
    expect(typeof caps.esp).toBe('boolean')
    expect((await ourState(h1)).netns).toEqual([])
  })
})
