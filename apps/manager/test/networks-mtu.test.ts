import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NetworkService } from '../src/networks.js'

describe('network MTU on the manager', () => {
  let dir: string
  let store: Store
  let mtus: number[]
  let networks: NetworkService
  const create = (name: string, options: Record<string, string> = {}) =>
    networks.create({ name, driver: 'overlay', attachable: true, options })

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-mtu-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    mtus = []
    networks = new NetworkService(
      {
        store,
        clock: systemClock,
        logger: silentLogger,
        underlayMtus: async () => mtus,
        users: async () => ({ services: [], liveTasks: new Set() }),
        nodeAddrs: async () => [],
      },
      { pools: ['10.0.0.0/8'], size: 24 },
    )
  })
  afterEach(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('fixes the smallest underlay MTU − 50 at create; later nodes do not change it', async () => {
    mtus = [1500, 1400, 9000]
    expect((await create('a')).mtu).toBe(1350)
    mtus = [1460]
    expect((await networks.inspect('a')).mtu).toBe(1350)
    expect((await create('b')).mtu).toBe(1410)
  })

  it('takes -o mtu=N and sends it to the nodes with the network', async () => {
    mtus = [1500]
    expect((await create('j', { mtu: '8950' })).mtu).toBe(8950)
    expect((await networks.attach('node1', 'j', 'ep1')).network.mtu).toBe(8950)
  })

  it('refuses a bad mtu and stores nothing', async () => {
    for (const bad of ['x', '575', '8951'])
      await expect(create('bad', { mtu: bad })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' })
    expect(await networks.list()).toEqual([])
  })
})
