import { describe, expect, it } from 'vitest'
import { Cluster, node, replicated } from './helpers.js'

describe('service removal', () => {
  it('running tasks get desired remove, then leave the store once they have stopped', () => {
    const c = new Cluster([replicated('s1', 2), replicated('keep', 1)], [node('n1'), node('n2')])
    c.converge()
    const keep = c.live('keep')
    c.services = c.services.filter((s) => s.id !== 's1')
    const r = c.reconcile()
    expect(r.create).toEqual([])
    expect(r.remove).toEqual([])
    expect(r.update.map((t) => [t.serviceId, t.desiredState, t.state])).toEqual([
      ['s1', 'remove', 'running'],
      ['s1', 'remove', 'running'],
    ])
    c.agents()
    expect(c.reconcile().remove).toHaveLength(2)
    expect(c.tasks).toEqual(keep)
  })

  it('never-dispatched tasks and tasks on lost nodes are removed at once', () => {
    const c = new Cluster([replicated('s1', 2)], [node('n1')])
    c.converge()
    c.setService(replicated('s1', 3))
    c.reconcile() // slot 3, new
    c.setNode('n1', { status: 'down' })
    c.services = []
    const r = c.reconcile()
    expect(r.update).toEqual([])
    expect(r.remove).toHaveLength(3)
    expect(c.tasks).toEqual([])
  })
})

describe('task history', () => {
  it('keeps at most 5 ended tasks per slot, newest first', () => {
    const c = new Cluster([replicated('s1', 2, { delayMs: 0 })], [node('n1')])
    c.converge()
    for (let i = 0; i < 8; i++) {
      const t = c.live('s1').find((x) => x.slot === 1)
      if (!t) throw new Error('no slot 1')
      c.advance(1000)
      c.report(t.id, { state: 'failed', exitCode: 1 })
      c.converge()
    }
    const slot1 = c.tasks.filter((t) => t.slot === 1)
    expect(slot1.filter((t) => t.state === 'failed').map((t) => t.attempt)).toEqual([3, 4, 5, 6, 7])
    expect(slot1.filter((t) => t.state === 'running').map((t) => t.attempt)).toEqual([8])
    expect(c.tasks.filter((t) => t.slot === 2)).toHaveLength(1)
  })

  it('the limit is configurable (0 keeps no history); a task that is still stopping is kept', () => {
    const c = new Cluster([replicated('s1', 1, { delayMs: 0 })], [node('n1')], { historyLimit: 0 })
    c.converge()
    const [t] = c.live()
    if (!t) throw new Error('no task')
    c.setNode('n1', { availability: 'drain' })
    c.reconcile()
    expect(c.task(t.id).desiredState).toBe('shutdown') // still running on the agent: kept
    c.agents()
    expect(c.reconcile().remove).toEqual([t.id])
  })

  it('a done slot (restart refused) keeps its last task, which is not history', () => {
    const c = new Cluster([replicated('s1', 1, { condition: 'none' })], [node('n1')], { historyLimit: 0 })
    c.converge()
    const [t] = c.live()
    if (!t) throw new Error('no task')
    c.report(t.id, { state: 'complete', exitCode: 0 })
    // its desired state settles to shutdown, and it stays: neither history nor refilled
    expect(c.reconcile().update.map((x) => [x.id, x.desiredState])).toEqual([[t.id, 'shutdown']])
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    // Scaled away it becomes history and, with limit 0, is deleted.
    c.setService(replicated('s1', 0, { condition: 'none' }))
    expect(c.reconcile().remove).toEqual([t.id])
  })
})
