import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ManualClock, settle } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Task } from '@swarmnet/orchestrator'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Dispatcher } from '../src/dispatcher.js'
import type { TaskIndex } from '../src/task-index.js'
import { dispatcherFor, task } from './fixtures.js'

describe('dispatcher watch: a node hears of its assignments at once', () => {
  let dir: string
  let store: Store
  let index: TaskIndex
  let dispatcher: Dispatcher
  const clock = new ManualClock()

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-watch-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    ;({ dispatcher, index } = dispatcherFor(store, clock))
  })
  afterEach(async () => {
    index.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('answers when the node’s assignments change, not for another node’s, and after waitMs', async () => {
    const first = await dispatcher.sync('n1', { reports: [], held: [] })
    let answer: boolean | undefined
    void dispatcher.watch('n1', first.revision, 25_000).then((c) => {
      answer = c.changed
    })
    await settle()
    await store.table<Task>('tasks').put('t2', task('t2', 'n2'))
    await settle()
    expect(answer).toBeUndefined()
    await store.table<Task>('tasks').put('t1', task('t1', 'n1'))
    await settle()
    expect(answer).toBe(true)
    const next = await dispatcher.sync('n1', { reports: [], since: first.revision })
    expect(next.assignments.map((a) => a.id)).toEqual(['t1'])

    answer = undefined
    void dispatcher.watch('n1', next.revision, 25_000).then((c) => {
      answer = c.changed
    })
    await settle()
    await clock.advance(24_000)
    expect(answer).toBeUndefined()
    await clock.advance(1_000)
    expect(answer).toBe(false)
  })

  it('answers at once for a revision it does not know (manager restarted)', async () => {
    expect(await dispatcher.watch('n1', 'old-epoch:3', 25_000)).toEqual({ changed: true, membership: false })
  })

  it('answers every node’s watch at once when a node’s status changes', async () => {
    const a = await dispatcher.sync('n1', { reports: [], held: [] })
    const b = await dispatcher.sync('n2', { reports: [], held: [] })
    const answers: unknown[] = []
    void dispatcher.watch('n1', a.revision, 25_000).then((c) => answers.push(c))
    void dispatcher.watch('n2', b.revision, 25_000).then((c) => answers.push(c))
    await settle()
    expect(answers).toEqual([])
    dispatcher.membershipChanged()
    await settle()
    expect(answers).toEqual([
      { changed: false, membership: true },
      { changed: false, membership: true },
    ])
  })
})
