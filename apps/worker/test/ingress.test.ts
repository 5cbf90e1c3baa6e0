/**
 * The worker's part of the ingress mesh: held sockets and their conflicts, the desired
 * ingress state built from the gossiped VIP records and the local tasks, and the network
 * controller keeping every node on the ingress network.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Dataplane, DesiredState, IngressSpec, ReconcileResult } from '@swarmnet/dataplane'
import { ManualClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Entry } from '@swarmnet/netdb'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, describe, expect, it } from 'vitest'
import { hostPorts, ingressSpec, publishedPorts, redirectsOf } from '../src/ingress.js'
import { NetworkController } from '../src/networks.js'
import { PortHolder } from '../src/port-holder.js'
import { servicesOf } from '../src/service-table.js'
import { fakeNetdb } from './fakes.js'

const none: ReconcileResult = { steps: 0, processes: 0, warnings: [], failed: new Map() }
const ingressNet = {
  id: 'ing',
  name: 'ingress',
  vni: 4096,
  subnet: '10.255.0.0/16',
  gateway: '10.255.0.1',
  mtu: 1450,
  ingress: true as const,
}

/** A free TCP port of this machine (bound once, then closed). */
async function freePort(): Promise<number> {
  const s: Server = createServer()
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const vipRecord = (id: string, ip: string, ports: Array<[number, number, 'tcp' | 'udp']>): Entry => ({
  ip,
  mac: '02:42:0a:ff:00:09',
  vtep: '192.0.2.1',
  node: 'manager',
  svc: { id, name: id, vip: true, ports },
})
const taskEntry = (id: string, ip: string, vtep: string): Entry => ({
  ip,
  mac: '02:42:0a:ff:00:20',
  vtep,
  node: vtep,
  svc: { id, name: id, aliases: [] },
})

describe('ingress desired state (pure)', () => {
  it('takes the ingress ports of every VIP record, host ports and redirects of local tasks, minus conflicts', () => {
    const table = servicesOf([
      vipRecord('web', '10.255.0.9', [
        [8080, 80, 'tcp'],
        [5353, 53, 'udp'],
      ]),
      taskEntry('web', '10.255.0.20', '192.0.2.2'),
      vipRecord('api', '10.255.0.10', []),
    ])
    const ports = publishedPorts(table)
    expect(ports).toEqual([
      { protocol: 'udp', published: 5353, serviceId: 'web' },
      { protocol: 'tcp', published: 8080, serviceId: 'web' },
    ])
    const eps = [
      {
        id: 't1',
        ports: [
          { protocol: 'tcp' as const, targetPort: 80, publishedPort: 7171, publishMode: 'host' as const },
          { protocol: 'tcp' as const, targetPort: 80, publishedPort: 8080, publishMode: 'ingress' as const },
        ],
      },
    ]
    const host = hostPorts(eps)
    expect(host).toEqual([{ protocol: 'tcp', published: 7171, target: 80, endpointId: 't1' }])
    expect(redirectsOf(eps[0]?.ports)).toEqual([{ protocol: 'tcp', published: 8080, target: 80 }])
    const spec = ingressSpec(
      { network: ingressNet, lb: '10.255.0.2', gatewayIp: '172.18.0.2' },
      ports,
      host,
      new Set(['8080/tcp' as const]),
    )
    expect(spec).toEqual({
      networkId: 'ing',
      gatewayIp: '172.18.0.2',
      ports: [{ protocol: 'udp', published: 5353, serviceId: 'web' }],
      hostPorts: host,
    })
  })
})

describe('port holder', () => {
  const holders: PortHolder[] = []
  afterEach(async () => {
    for (const h of holders.splice(0)) await h.close()
  })

  it('holds wanted ports, reports one another process holds, and lets go of unwanted ones', async () => {
    const [a, b] = [new PortHolder(silentLogger, '127.0.0.1'), new PortHolder(silentLogger, '127.0.0.1')]
    holders.push(a, b)
    const port = await freePort()
    const key = `${port}/tcp` as const
    const udp = `${port}/udp` as const
    expect([...(await a.hold(new Set([key, udp])))]).toEqual([])
    // the same port taken: TCP refused, and UDP too (held by a as well)
    expect([...(await b.hold(new Set([key, udp])))].sort()).toEqual([key, udp].sort())
    expect([...b.conflicts].sort()).toEqual([key, udp].sort())
    await a.hold(new Set())
    expect([...(await b.hold(new Set([key])))]).toEqual([])
  })
})

describe('network controller and the ingress network', () => {
  let dir: string | undefined
  let store: Store | undefined
  let net: NetworkController | undefined
  afterEach(async () => {
    await net?.stop()
    await store?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('is on the ingress network with no task, balances published ports from gossip, and updates them on the fast path', async () => {
    const seen: DesiredState[] = []
    const fast: IngressSpec[] = []
    const dataplane = {
      gateway: { address: '172.18.0.1', subnet: '172.18.0.0/16' },
      reconcile: async (d: DesiredState) => {
        seen.push(d)
        return none
      },
      setPeers: async () => none,
      updateLoadBalancer: async () => none,
      updateIngress: async (spec: IngressSpec) => {
        fast.push(spec)
        return none
      },
    } as Partial<Dataplane> as Dataplane
    const entries: Entry[] = []
    const joined: string[] = []
    const netdb = fakeNetdb(entries, ['ing'], joined)
    dir = await mkdtemp(path.join(tmpdir(), 'sn-ingress-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    net = new NetworkController(
      {
        logger: silentLogger,
        clock: new ManualClock(),
        store,
        dataplane,
        netdb,
        manager: () => {
          throw new Error('no manager in this test')
        },
      },
      '192.0.2.1',
    )
    await net.start()
    await net.setIngress({ network: ingressNet, lb: '10.255.0.2' })
    expect(joined).toContain('ing')
    let d = await net.desired()
    expect(d.networks.map((n) => n.id)).toEqual(['ing'])
    expect(d.loadBalancers).toEqual([
      { networkId: 'ing', address: '10.255.0.2', mac: '02:42:0a:ff:00:02', services: [] },
    ])
    expect(d.ingress?.gatewayIp).toMatch(/^172\.18\./)
    expect(d.ingress?.gatewayIp).not.toBe('172.18.0.1')
    // a published service appears in gossip: a scoped update of the mesh, no whole reconcile
    const port = await freePort()
    entries.push(
      taskEntry('web', '10.255.0.20', '192.0.2.1'),
      vipRecord('web', '10.255.0.9', [[port, 80, 'tcp']]),
    )
    netdb.emit('ing') // the VTEP set is new: a whole reconcile is asked for
    entries.push(taskEntry('web', '10.255.0.21', '192.0.2.1'))
    netdb.emit('ing') // same VTEPs: the fast path
    await expect.poll(() => fast.length).toBeGreaterThan(0)
    expect(fast.at(-1)?.ports).toEqual([{ protocol: 'tcp', published: port, serviceId: 'web' }])
    d = await net.desired()
    expect(d.loadBalancers?.[0]?.services.map((s) => s.backends.length)).toEqual([2])
    expect(net.portConflicts).toEqual([])
  })
})
