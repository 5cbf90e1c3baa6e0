import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Node, Task } from '@swarmnet/orchestrator'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NetworkService } from '../src/networks.js'
import { ServiceController } from '../src/services.js'

const GiB = 1024 ** 3

describe('placement on the manager: a change of placement or labels re-places tasks', () => {
  let dir: string
  let store: Store
  let services: ServiceController
  let nodes: Node[]

  const live = async (): Promise<Task[]> =>
    (await store.table<Task>('tasks').list()).map((e) => e.value).filter((t) => t.desiredState === 'running')
  /** Polls until every task that should run is on `want` (node ids, sorted), or fails after 5 s. */
  const placedOn = async (want: string[]): Promise<void> => {
    const deadline = Date.now() + 5_000
    for (;;) {
      const got = (await live()).map((t) => t.nodeId).sort()
      if (JSON.stringify(got) === JSON.stringify(want)) return
      if (Date.now() > deadline) throw new Error(`tasks on ${got.join(',')}, wanted ${want.join(',')}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-placement-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    const node = (id: string, zone: string): Node => ({
      id,
      hostname: `host-${id}`,
      status: 'ready',
      availability: 'active',
      labels: { zone },
      capabilities: ['cgroups'],
      resources: { nanoCpus: 2e9, memoryBytes: 4 * GiB },
    })
    nodes = [node('n1', 'a'), node('n2', 'a'), node('n3', 'b')]
    const networks = new NetworkService(
      {
        store,
        clock: systemClock,
        logger: silentLogger,
        underlayMtus: async () => [],
        users: async () => ({ services: [], liveTasks: new Set() }),
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
    services.start()
  })
  afterEach(async () => {
    await services.stop()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('moves tasks when the constraints change (updatePlacement) and when a node loses its label', async () => {
    const created = await services.create({
      name: 'web',
      replicas: 2,
      global: false,
      networks: [],
      env: {},
      restartCondition: 'any',
      argv: ['sleep', 'infinity'],
      placement: { constraints: ['node.labels.zone==a'] },
    })
    expect(created.placement).toEqual({ constraints: ['node.labels.zone==a'] })
    await placedOn(['n1', 'n2'])

    const view = await services.updatePlacement('web', {
      placement: { constraints: ['node.labels.zone==b'] },
      resources: { limits: { memoryBytes: 64 * 2 ** 20 } },
    })
    expect(view.resources).toEqual({ limits: { memoryBytes: 64 * 2 ** 20 } })
    await placedOn(['n3', 'n3'])
    const moved = (await store.table<Task>('tasks').list())
      .map((e) => e.value)
      .filter((t) => t.nodeId !== 'n3')
    expect(moved.every((t) => t.error === 'assigned node no longer meets constraints')).toBe(true)

    // the node's label goes: its tasks go, and wait for a node that fits
    nodes = nodes.map((n) => (n.id === 'n3' ? { ...n, labels: {} } : n))
    await placedOn(['', ''])
    expect((await live()).map((t) => [t.state, t.error])).toEqual([
      ['pending', 'no suitable node (scheduling constraints not satisfied on 3 nodes)'],
      ['pending', 'no suitable node (scheduling constraints not satisfied on 3 nodes)'],
    ])
  })

  it('refuses a bad placement change and changes nothing', async () => {
    await services.create({
      name: 'web',
      replicas: 1,
      global: false,
      networks: [],
      env: {},
      restartCondition: 'any',
      argv: ['sleep', 'infinity'],
    })
    await expect(
      services.updatePlacement('web', { placement: { constraints: ['node.colour==red'] } }),
    ).rejects.toThrow(/unknown attribute 'node.colour'/)
    expect((await services.inspect('web')).placement).toEqual({})
  })
})
