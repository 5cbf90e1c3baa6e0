/**
 * The network controller's local records: sandboxes prepared by bursts that overlap (the
 * task agent starts a new burst while the previous one is still being programmed) must each
 * get their own gateway-bridge address — the resolver knows which task asks by that address.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Dataplane, DesiredState, ReconcileResult } from '@swarmnet/dataplane'
import { ManualClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Entry, Netdb } from '@swarmnet/netdb'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, describe, expect, it } from 'vitest'
import { type LocalAttachment, NetworkController } from '../src/networks.js'

const attachment = (id: string, ip: string): LocalAttachment => ({
  id,
  network: { id: 'n1', name: 'appnet', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', mtu: 1450 },
  ip,
  prefix: 24,
  mac: '02:42:0a:00:00:05',
  node: 'node1',
})

function fakeDataplane(seen: DesiredState[]): Dataplane {
  const none: ReconcileResult = { steps: 0, processes: 0, warnings: [], failed: new Map() }
  return {
    gateway: { address: '172.18.0.1', subnet: '172.18.0.0/16' },
    reconcile: async (desired) => {
      seen.push(desired)
      return none
    },
  } as Partial<Dataplane> as Dataplane
}

function fakeNetdb(): Netdb {
  return {
    start: async () => undefined,
    stop: async () => undefined,
    join: async () => undefined,
    leave: async () => undefined,
    setLocal: async () => undefined,
    entries: (): Entry[] => [],
    networks: () => [],
    on: () => () => undefined,
  } as Partial<Netdb> as Netdb
}

describe('network controller records', () => {
  let dir: string | undefined
  let store: Store | undefined
  afterEach(async () => {
    await store?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('gives overlapping bursts distinct gateway-bridge addresses', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sn-networks-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    const seen: DesiredState[] = []
    const net = new NetworkController(
      {
        logger: silentLogger,
        clock: new ManualClock(),
        store,
        dataplane: fakeDataplane(seen),
        netdb: fakeNetdb(),
        manager: () => {
          throw new Error('no manager in this test')
        },
      },
      '192.0.2.1',
    )
    const request = (id: string, ip: string) => ({ id, attachments: [attachment(id, ip)] })
    await Promise.all([
      net.prepare([request('web1', '10.0.0.5')]),
      net.prepare([request('client1', '10.0.0.6')]),
      net.prepare([request('web2', '10.0.0.7'), request('web3', '10.0.0.8')]),
    ])
    const last = seen.at(-1)
    const gateways = (last?.endpoints ?? []).map((e) => [e.id, e.gatewayIp])
    expect(gateways).toHaveLength(4)
    expect(new Set(gateways.map(([, ip]) => ip)).size).toBe(4)
  })
})
