import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AllocatorSnapshot } from '@swarmnet/allocator'
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Node, Service, Task } from '@swarmnet/orchestrator'
import type { Pki } from '@swarmnet/pki'
import { createStore, type Store } from '@swarmnet/store'
import type { PublishedPortRequest } from '@swarmnet/wire'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createManager } from '../src/index.js'
import { checkIngressSubnet, ensureIngress } from '../src/ingress.js'
import { NetworkService } from '../src/networks.js'
import { afterHeartbeat } from '../src/nodes.js'
import type { NodeRecord } from '../src/records.js'
import type { ServiceCreate } from '../src/service-requests.js'
import { ServiceController } from '../src/services.js'

const port = (over: Partial<PublishedPortRequest> = {}): PublishedPortRequest => ({
  protocol: 'tcp',
  targetPort: 80,
  publishedPort: 8080,
  publishMode: 'ingress',
  ...over,
})

describe('ingress network and published ports on the manager', () => {
  let dir: string
  let store: Store
  let networks: NetworkService
  let services: ServiceController
  const nodes: Node[] = [
    { id: 'n1', hostname: 'h1', status: 'ready', availability: 'active' },
    { id: 'n2', hostname: 'h2', status: 'ready', availability: 'active' },
  ]
  const create = (name: string, ports: PublishedPortRequest[] = [], over: Partial<ServiceCreate> = {}) =>
    services.create({
      name,
      replicas: 1,
      global: false,
      networks: [],
      env: {},
      restartCondition: 'any',
      argv: ['sleep', 'infinity'],
      ports,
      ...over,
    })
  const stored = async (name: string): Promise<Service | undefined> =>
    (await store.table<Service>('services').list()).map((e) => e.value).find((s) => s.name === name)
  const snapshot = async () =>
    (await store.table<AllocatorSnapshot>('allocator').get('state')) as AllocatorSnapshot
  const tasksOf = async (serviceId: string): Promise<Task[]> =>
    (await store.table<Task>('tasks').list()).map((e) => e.value).filter((t) => t.serviceId === serviceId)
  const until = async <T>(fn: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + 5_000
    for (;;) {
      const v = await fn()
      if (v !== undefined) return v
      if (Date.now() > deadline) throw new Error('timed out')
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-ingress-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    networks = new NetworkService(
      {
        store,
        clock: systemClock,
        logger: silentLogger,
        users: async (id, o) => services.networkUsers(id, o),
        nodeAddrs: async () => [],
      },
      { pools: ['10.0.0.0/8'], size: 24 },
    )
    services = new ServiceController({
      store,
      clock: systemClock,
      logger: silentLogger,
      networks,
      periodMs: 20,
      nodes: async () => nodes,
    })
    await ensureIngress(networks, silentLogger)
    services.start()
  })
  afterEach(async () => {
    await services.stop()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  describe('the ingress network', () => {
    it('is created once, flagged, and shown by network ls', async () => {
      const again = await ensureIngress(networks, silentLogger)
      const list = await networks.list()
      expect(list.map((n) => [n.name, n.ingress])).toEqual([['ingress', true]])
      expect(again?.id).toBe(list[0]?.id)
    })

    it('takes --ingress-subnet, and a user network named ingress blocks it (logged)', async () => {
      await networks.remove('ingress')
      await ensureIngress(networks, silentLogger, '10.255.0.0/16')
      expect((await networks.inspect('ingress')).subnet).toBe('10.255.0.0/16')
      await networks.remove('ingress')
      await networks.create({ name: 'ingress', driver: 'overlay', attachable: true, options: {} })
      expect(await ensureIngress(networks, silentLogger)).toBeUndefined()
      expect(await networks.ingress()).toBeUndefined()
    })

    it('refuses a bad --ingress-subnet before anything is written', () => {
      const pool = { pools: ['10.0.0.0/8'], size: 24 }
      expect(() => checkIngressSubnet('10.255.0.0/16', pool, '192.168.1.5')).not.toThrow()
      for (const bad of ['abc', '10.0.0.0/33', '300.0.0.0/16'])
        expect(() => checkIngressSubnet(bad, pool, '192.168.1.5')).toThrow(/invalid --ingress-subnet/)
      expect(() => checkIngressSubnet('192.168.0.0/16', pool, '192.168.1.5')).toThrow(
        /invalid --ingress-subnet/,
      )
    })

    it('gives every node, even one with no task, the network and its own stable LB address', async () => {
      const a = await services.dispatcher.sync('n9', { reports: [] })
      const b = await services.dispatcher.sync('n8', { reports: [] })
      expect(a.ingress?.network).toMatchObject({ name: 'ingress', ingress: true })
      expect(a.ingress?.lb).toMatch(/^10\./)
      expect(b.ingress?.lb).not.toBe(a.ingress?.lb)
      expect((await services.dispatcher.sync('n9', { reports: [] })).ingress?.lb).toBe(a.ingress?.lb)
      const ingressId = (await networks.ingress())?.id
      const lbs = () => snapshot().then((s) => s.networks.find((n) => n.id === ingressId)?.endpoints ?? {})
      expect(Object.keys(await lbs())).toContain('lb-n9')
      await networks.releaseNode('n9')
      expect(Object.keys(await lbs())).not.toContain('lb-n9')
    })

    it('cannot be named by a service, nor removed while a service publishes an ingress port', async () => {
      await expect(create('web', [], { networks: ['ingress'] })).rejects.toThrow(
        /cannot be explicitly attached to the ingress network/,
      )
      // no task: its address would hold the network until its node lets it go
      await create('web', [port()], { replicas: 0 })
      await expect(networks.remove('ingress')).rejects.toThrow(/in use by service\(s\) web/)
      await services.remove('web')
      await create('db', [port({ publishMode: 'host' })])
      await networks.remove('ingress')
      expect(await networks.ingress()).toBeUndefined()
    })
  })

  describe('published ports', () => {
    it('puts a service with an ingress port on the ingress network: VIP, ports record, task attachment, assignment', async () => {
      const view = await create('web', [port()])
      const ingress = await networks.ingress()
      expect(view.ports).toEqual([port()])
      expect(view.virtualIPs.map((v) => v.network)).toEqual(['ingress'])
      expect(await services.vipRecords()).toEqual([
        expect.objectContaining({ networkId: ingress?.id, name: 'web', ports: [[8080, 80, 'tcp']] }),
      ])
      const [t] = await until(async () => {
        const ts = await tasksOf(view.id)
        return ts.some((x) => x.attachments?.length) ? ts : undefined
      })
      expect(t?.attachments?.map((a) => a.networkId)).toEqual([ingress?.id])
      const sync = await services.dispatcher.sync(t?.nodeId ?? '', { reports: [] })
      const a = sync.assignments.find((x) => x.id === t?.id)
      expect(a?.ports).toEqual([port()])
      expect(a?.attachments[0]?.network.ingress).toBe(true)
      expect(a?.attachments[0]?.lb).toBe(sync.ingress?.lb)
    })

    it('a host-mode port alone needs no ingress network', async () => {
      const view = await create('db', [port({ publishMode: 'host' })])
      expect(view.virtualIPs).toEqual([])
      expect(await services.vipRecords()).toEqual([])
    })

    it('allocates missing published ports from 30000, stably, and frees them on rm', async () => {
      const { publishedPort: _, ...noPort } = port()
      expect((await create('a', [noPort])).ports[0]?.publishedPort).toBe(30000)
      expect(
        (await create('b', [noPort, { ...noPort, protocol: 'udp' }])).ports.map((p) => p.publishedPort),
      ).toEqual([30001, 30000])
      const updated = await services.update('a', {
        publishAdd: [port({ publishedPort: 9090, targetPort: 81 })],
      })
      expect(updated.ports.map((p) => p.publishedPort)).toEqual([30000, 9090])
      await services.remove('a')
      expect((await create('c', [noPort])).ports[0]?.publishedPort).toBe(30000)
      expect((await snapshot()).ports.map((p) => [p.publishedPort, p.protocol, p.serviceName])).toEqual([
        [30000, 'tcp', 'c'],
        [30001, 'tcp', 'b'],
        [30000, 'udp', 'b'],
      ])
    })

    it('refuses a published port taken by another service (ingress, or host against ingress); nothing stored', async () => {
      await create('web', [port()])
      await expect(create('web2', [port({ targetPort: 81 })])).rejects.toThrow(
        /port 8080\/tcp is already published by service 'web'/,
      )
      await expect(create('web3', [port({ publishMode: 'host' })])).rejects.toThrow(
        /already published by service 'web'/,
      )
      await create('h1', [port({ publishedPort: 7070, publishMode: 'host' })])
      await expect(create('web4', [port({ publishedPort: 7070 })])).rejects.toThrow(
        /already published by service 'h1'/,
      )
      // host beside host is the scheduler's (one per node); another protocol is another port
      await create('h2', [port({ publishedPort: 7070, publishMode: 'host' })])
      await create('dns', [port({ protocol: 'udp' })])
      for (const name of ['web2', 'web3', 'web4']) expect(await stored(name)).toBeUndefined()
      expect((await snapshot()).ports.filter((p) => p.serviceName.startsWith('web'))).toHaveLength(1)
    })

    it("refuses dnsrr with an ingress port (Docker's words) and mode=host without a published port", async () => {
      await expect(create('rr', [port()], { endpointMode: 'dnsrr' })).rejects.toThrow(
        "port published with ingress mode can't be used with dnsrr mode",
      )
      const { publishedPort: _, ...noPort } = port({ publishMode: 'host' })
      await expect(create('h', [noPort])).rejects.toThrow(/mode=host needs a published port/)
      expect(await stored('rr')).toBeUndefined()
      expect((await snapshot()).ports).toEqual([])
    })
  })

  describe('service update --publish-add / --publish-rm', () => {
    it('moves a port: the tasks are replaced (a spec change), the VIP record follows', async () => {
      const view = await create('web', [port()])
      const first = await until(async () => (await tasksOf(view.id)).find((t) => t.nodeId !== ''))
      const after = await services.update('web', {
        publishAdd: [port({ publishedPort: 9090, targetPort: 8080 })],
        publishRm: [{ publishedPort: 8080 }],
      })
      expect(after.ports).toEqual([port({ publishedPort: 9090, targetPort: 8080 })])
      expect(after.updateStatus?.state).toBe('updating')
      expect((await services.vipRecords())[0]?.ports).toEqual([[9090, 8080, 'tcp']])
      const replaced = await until(async () =>
        (await tasksOf(view.id)).find((t) => t.id !== first.id && t.desiredState === 'running'),
      )
      expect(replaced.spec?.ports).toEqual(after.ports)
      // 8080 is free again
      await create('other', [port()])
    })

    it('refuses --publish-rm of a port the service does not publish; nothing changes', async () => {
      await create('web', [port()])
      const before = await stored('web')
      await expect(services.update('web', { publishRm: [{ publishedPort: 9999 }] })).rejects.toThrow(
        'service web does not publish port 9999',
      )
      await expect(
        services.update('web', { publishRm: [{ publishedPort: 8080, protocol: 'udp' }] }),
      ).rejects.toThrow('does not publish port 8080/udp')
      expect(await stored('web')).toEqual(before)
    })

    it('the last ingress port removed gives the ingress VIP back; a refused add leaves the ports held', async () => {
      await create('web', [port()])
      await create('db', [port({ publishedPort: 5432, targetPort: 5432 })])
      await expect(services.update('web', { publishAdd: [port({ publishedPort: 5432 })] })).rejects.toThrow(
        /already published by service 'db'/,
      )
      expect((await stored('web'))?.spec.ports).toEqual([port()])
      const after = await services.update('web', { publishRm: [{ publishedPort: 8080, protocol: 'tcp' }] })
      expect(after.ports).toEqual([])
      expect(after.virtualIPs).toEqual([])
      expect((await snapshot()).ports.map((p) => p.serviceName)).toEqual(['db'])
    })
  })
})

describe('heartbeat port conflicts', () => {
  const n = { hostname: 'h', addr: '10.0.0.1', gossipAddrs: [] } as unknown as NodeRecord
  const hb = { hostname: 'h', advertiseAddr: '10.0.0.1', gossipAddrs: [] }

  it('are kept on the node record, replaced by every heartbeat, gone when absent', () => {
    const a = afterHeartbeat(n, { ...hb, portConflicts: ['7070/tcp'] }, 't1')
    expect(a?.portConflicts).toEqual(['7070/tcp'])
    expect(afterHeartbeat(a as NodeRecord, { ...hb, portConflicts: ['7070/tcp'] }, 't2')).toBeUndefined()
    const b = afterHeartbeat(a as NodeRecord, { ...hb, portConflicts: ['53/udp'] }, 't3')
    expect(b?.portConflicts).toEqual(['53/udp'])
    const c = afterHeartbeat(b as NodeRecord, hb, 't4')
    expect(c).toBeDefined()
    expect(c && 'portConflicts' in c).toBe(false)
  })
})

describe('init --ingress-subnet', () => {
  it('a bad subnet is refused before the cluster is created (nothing written)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-init-'))
    const store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    try {
      const untouched = new Proxy({} as Pki, {
        get: () => {
          throw new Error('the CA must not be created')
        },
      })
      const manager = createManager(
        { store, clock: systemClock, logger: silentLogger, pki: untouched },
        { listenHost: '127.0.0.1', listenPort: 0, version: '0.6.0' },
      )
      const init = {
        nodeId: 'n1',
        hostname: 'h1',
        advertiseAddr: '192.168.1.5',
        peerId: 'p',
        gossipAddrs: [],
        csrPem: '',
        dataPathPort: 4789,
        defaultAddrPool: '10.0.0.0/8',
        defaultAddrPoolMaskLen: 24,
      }
      for (const bad of ['10.255.0.0/33', 'abc', '192.168.0.0/16'])
        await expect(manager.bootstrap({ ...init, ingressSubnet: bad })).rejects.toThrow(
          /invalid --ingress-subnet/,
        )
      await expect(manager.cluster()).rejects.toThrow(/no cluster/)
    } finally {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
