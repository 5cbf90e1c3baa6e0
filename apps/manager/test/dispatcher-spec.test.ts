import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ManualClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Service, Task } from '@swarmnet/orchestrator'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Dispatcher } from '../src/dispatcher.js'
import type { TaskIndex } from '../src/task-index.js'
import { dispatcherFor, task } from './fixtures.js'

const health = { cmd: 'true', intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0 }

describe('dispatcher: a task runs its own spec, and its health comes back with its status', () => {
  let dir: string
  let store: Store
  let index: TaskIndex
  let dispatcher: Dispatcher
  const clock = new ManualClock()

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-spec-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    ;({ dispatcher, index } = dispatcherFor(store, clock))
    const svc: Service = {
      id: 'svc1',
      name: 'web',
      mode: { replicated: { replicas: 1 } },
      spec: { argv: ['new'], env: { V: '2' }, networks: [] },
      restart: { condition: 'any', delayMs: 5000, maxAttempts: 0 },
      version: 2,
      createdAt: 0,
      updatedAt: 0,
    }
    await store.table<Service>('services').put('svc1', svc)
  })
  afterEach(async () => {
    index.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('hands the node the spec the task was created with, not the service’s newer one', async () => {
    await store.table<Task>('tasks').put('t1', task('t1', 'n1', { spec: { argv: ['old'], env: {}, health } }))
    const r = await dispatcher.sync('n1', { reports: [], held: [] })
    expect(r.assignments.map((a) => [a.argv, a.env, a.health])).toEqual([[['old'], {}, health]])
  })

  it('stores health reports; running counts from the first healthy one', async () => {
    const tasks = store.table<Task>('tasks')
    await tasks.put('t1', task('t1', 'n1', { spec: { argv: ['old'], env: {}, health } }))
    await dispatcher.sync('n1', {
      reports: [{ id: 't1', state: 'running', health: 'starting' }],
      held: ['t1'],
    })
    expect(await tasks.get('t1')).toMatchObject({ state: 'running', health: 'starting' })
    expect((await tasks.get('t1'))?.runningAt).toBeUndefined()
    await clock.advance(3000)
    await dispatcher.sync('n1', { reports: [{ id: 't1', state: 'running', health: 'healthy' }] })
    expect(await tasks.get('t1')).toMatchObject({ health: 'healthy', runningAt: clock.now() })
  })
})
