import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { silentLogger } from '@swarmnet/logger'
import type { Task } from '@swarmnet/orchestrator'
import { createStore, type Store, type Table } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TaskIndex, TOMBSTONES_PER_NODE } from '../src/task-index.js'
import { task } from './fixtures.js'

describe('the manager task index: a node gets the changes since its revision', () => {
  let dir: string
  let store: Store
  let tasks: Table<Task>
  let index: TaskIndex

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-index-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    tasks = store.table<Task>('tasks')
    index = new TaskIndex(tasks)
  })
  afterEach(async () => {
    index.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('loads what the store holds and follows its writes', async () => {
    await tasks.put('t1', task('t1', 'n1'))
    await index.load()
    await tasks.put('t2', task('t2', 'n2'))
    expect(index.ofNode('n1').map((t) => t.id)).toEqual(['t1'])
    expect(index.ofNode('n2').map((t) => t.id)).toEqual(['t2'])
    expect(
      index
        .ofService('svc1')
        .map((t) => t.id)
        .sort(),
    ).toEqual(['t1', 't2'])
    await tasks.del('t1')
    expect(index.ofNode('n1')).toEqual([])
    expect(index.get('t1')).toBeUndefined()
  })

  it('first contact and unknown revisions get the whole list; then only changes', async () => {
    await index.load()
    await tasks.put('t1', task('t1', 'n1'))
    await tasks.put('t2', task('t2', 'n1'))
    const first = index.delta('n1', undefined)
    expect(first.full).toBe(true)
    if (!first.full) throw new Error('unreachable')
    expect(first.tasks.map((t) => t.id).sort()).toEqual(['t1', 't2'])
    expect(index.delta('n1', 'other:1').full).toBe(true)
    expect(index.delta('n1', `${first.revision.split(':')[0]}:999999`).full).toBe(true)

    const idle = index.delta('n1', first.revision)
    expect(idle).toEqual({ full: false, revision: first.revision, changed: [], removed: [] })

    // the node's own status report does not send the task back to it
    await tasks.put('t1', task('t1', 'n1', { state: 'running' }))
    expect(index.delta('n1', first.revision)).toMatchObject({ changed: [], removed: [] })
    expect(index.get('t1')?.state).toBe('running')

    // a desired-state change does; a task moved away is removed here and new there
    await tasks.put('t1', task('t1', 'n1', { state: 'running', desiredState: 'shutdown' }))
    await tasks.put('t2', task('t2', 'n2'))
    const d = index.delta('n1', first.revision)
    if (d.full) throw new Error('expected a delta')
    expect(d.changed.map((t) => [t.id, t.desiredState])).toEqual([['t1', 'shutdown']])
    expect(d.removed).toEqual(['t2'])
    expect(index.delta('n1', d.revision)).toMatchObject({ full: false, changed: [], removed: [] })
    expect(index.delta('n2', first.revision)).toMatchObject({ full: false, removed: [] })
  })

  it('a node behind the oldest kept tombstone gets the whole list again', async () => {
    await index.load()
    const start = index.delta('n1', undefined).revision
    for (let i = 0; i <= TOMBSTONES_PER_NODE; i++) {
      await tasks.put(`t${i}`, task(`t${i}`, 'n1'))
      await tasks.del(`t${i}`)
    }
    expect(index.delta('n1', start).full).toBe(true)
    const late = index.delta('n1', undefined).revision
    expect(index.delta('n1', late)).toMatchObject({ full: false, removed: [] })
  })
})
