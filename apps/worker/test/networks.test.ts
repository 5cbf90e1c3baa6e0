/**
 * The network controller's local records: sandboxes prepared by bursts that overlap (the
 * task agent starts a new burst while the previous one is still being programmed) must each
 * get their own gateway-bridge address — the resolver knows which task asks by that address.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Dataplane, DesiredState, ReconcileResult } from '@swarmnet/dataplane'
import { ManualClock, settle } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Entry, Netdb } from '@swarmnet/netdb'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type LocalAttachment, NetworkController } from '../src/networks.js'
import { fakeNetdb } from './fakes.js'

const attachment = (id: string, ip: string): LocalAttachment => ({
  id,
  network: { id: 'n1', name: 'appnet', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', mtu: 1450 },
  ip,
  prefix: 24,
  mac: '02:42:0a:00:00:05',
  node: 'node1',
})

const none: ReconcileResult = { steps: 0, processes: 0, warnings: [], failed: new Map() }

/** Records every call: whole reconciles (their desired state) and the scoped ones. */
function fakeDataplane(seen: DesiredState[], scoped: string[] = []): Dataplane {
  return {
    gateway: { address: '172.18.0.1', subnet: '172.18.0.0/16' },
    reconcile: async (desired) => {
      seen.push(desired)
      return none
    },
    setPeers: async (network, peers) => {
      scoped.push(`peers ${network} ${peers.map((p) => p.ip).join(',')}`)
      return none
    },
    updateLoadBalancer: async (network, lb) => {
      scoped.push(`lb ${network} ${lb?.services.map((s) => `${s.vip}>${s.backends.length}`).join(',')}`)
      return none
    },
  } as Partial<Dataplane> as Dataplane
}

const request = (id: string, ip: string) => ({
  id,
  attachments: [{ ...attachment(id, ip), lb: '10.0.0.250' }],
})

describe('network controller', () => {
  let dir: string | undefined
  let store: Store | undefined
  let net: NetworkController | undefined
  afterEach(async () => {
    await net?.stop()
    await store?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })
  const controller = async (dataplane: Dataplane, netdb: Netdb) => {
    dir = await mkdtemp(path.join(tmpdir(), 'sn-networks-'))
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
    return net
  }

  it('gives overlapping bursts distinct gateway-bridge addresses', async () => {
    const seen: DesiredState[] = []
    const c = await controller(fakeDataplane(seen), fakeNetdb())
    await Promise.all([
      c.prepare([request('web1', '10.0.0.5')]),
      c.prepare([request('client1', '10.0.0.6')]),
      c.prepare([request('web2', '10.0.0.7'), request('web3', '10.0.0.8')]),
    ])
    const last = seen.at(-1)
    const gateways = (last?.endpoints ?? []).map((e) => [e.id, e.gatewayIp])
    expect(gateways).toHaveLength(4)
    expect(new Set(gateways.map(([, ip]) => ip)).size).toBe(4)
  })
})

describe('network controller on gossip', () => {
  it('takes a service record or a task on a known node through the scoped calls; a new node through a whole reconcile', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sn-networks-'))
    const store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    const seen: DesiredState[] = []
    const scoped: string[] = []
    const entries: Entry[] = []
    const netdb = fakeNetdb(entries)
    const net = new NetworkController(
      {
        logger: silentLogger,
        clock: new ManualClock(),
        store,
        dataplane: fakeDataplane(seen, scoped),
        netdb,
        manager: () => {
          throw new Error('no manager in this test')
        },
      },
      '192.0.2.1',
    )
    try {
      await net.start()
      await net.prepare([request('client1', '10.0.0.6')])
      const task = (ip: string, vtep: string): Entry => ({
        node: vtep,
        ip,
        mac: '02:42:0a:00:00:09',
        vtep,
        svc: { id: 'web', name: 'web' },
      })
      const changed = async (...add: Entry[]) => {
        entries.push(...add)
        netdb.emit('n1')
        await settle()
      }
      // a task on a node not seen on n1 yet: the whole reconcile (peers, SAs, LB)
      await changed(task('10.0.0.9', '192.0.2.2'))
      await vi.waitFor(() => expect(seen.at(-1)?.networks[0]?.peers?.map((p) => p.ip)).toEqual(['10.0.0.9']))
      const whole = seen.length
      // the VIP record of web, then a second task on the same node: scoped only
      await changed({
        node: 'mgr',
        ip: '10.0.0.2',
        mac: '02:42:0a:00:00:02',
        vtep: '192.0.2.2',
        svc: { id: 'web', name: 'web', vip: true },
      })
      await changed(task('10.0.0.10', '192.0.2.2'))
      await vi.waitFor(() =>
        expect(scoped.slice(-2)).toEqual(['peers n1 10.0.0.9,10.0.0.10', 'lb n1 10.0.0.2>2']),
      )
      expect(seen.length).toBe(whole)
      // a task on a third node: whole again
      await changed(task('10.0.0.11', '192.0.2.3'))
      await vi.waitFor(() => expect(seen.length).toBeGreaterThan(whole))
    } finally {
      await net.stop()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
