import { ManualClock } from '@swarmnet/interface'
import type { Service, Task } from '@swarmnet/orchestrator'
import type { Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Dispatcher } from '../src/dispatcher.js'
import { dispatcherInTmp, task } from './fixtures.js'

const health = { cmd: 'true', intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0 }

describe('dispatcher: a task runs its own spec, and its health comes back with its status', () => {
  let store: Store
  let dispatcher: Dispatcher
  let close: () => Promise<void>
  const clock = new ManualClock()

  beforeEach(async () => {
    ;({ store, dispatcher, close } = await dispatcherInTmp(clock))
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
  afterEach(() => close())

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
