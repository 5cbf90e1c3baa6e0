import { describe, expect, it } from 'vitest'
import { Cluster, global, node } from './helpers.js'

const three = () => [node('n1'), node('n2'), node('n3')]

describe('global services', () => {
  it('creates one task per Ready+Active node, pinned to it, slot 0', () => {
    const c = new Cluster(
      [global('g')],
      [...three(), node('n4', { availability: 'pause' }), node('n5', { status: 'down' })],
    )
    const r = c.reconcile()
    expect(r.create.map((t) => [t.slot, t.nodeId, t.state])).toEqual([
      [0, 'n1', 'new'],
      [0, 'n2', 'new'],
      [0, 'n3', 'new'],
    ])
    expect(c.schedule().assignments.map((a) => a.nodeId)).toEqual(['n1', 'n2', 'n3'])
    c.agents()
    expect(c.orch.serviceReplicas(c.services[0] as never, c.tasks, c.nodes)).toBe('3/3')
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
  })

  it('drained node: its task is shut down and not replaced; back to active: a new task', () => {
    const c = new Cluster([global('g')], three())
    c.converge()
    c.setNode('n2', { availability: 'drain' })
    const r = c.reconcile()
    expect(r.create).toEqual([])
    expect(r.update.map((t) => [t.nodeId, t.desiredState])).toEqual([['n2', 'shutdown']])
    c.converge()
    expect(c.spread('g')).toEqual({ n1: 1, n3: 1 })
    expect(c.orch.serviceReplicas(c.services[0] as never, c.tasks, c.nodes)).toBe('2/2')
    c.setNode('n2', { availability: 'active' })
    expect(c.reconcile().create.map((t) => t.nodeId)).toEqual(['n2'])
    c.converge()
    expect(c.spread('g')).toEqual({ n1: 1, n2: 1, n3: 1 })
  })

  it('node down: orphaned, no replacement elsewhere; a new node gets a task', () => {
    const c = new Cluster([global('g')], three())
    c.converge()
    c.setNode('n3', { status: 'down' })
    c.nodes = [...c.nodes, node('n4')]
    const r = c.reconcile()
    expect(r.update.map((t) => [t.nodeId, t.state, t.desiredState])).toEqual([['n3', 'orphaned', 'shutdown']])
    expect(r.create.map((t) => t.nodeId)).toEqual(['n4'])
  })

  it('paused node keeps its task but gets no restart while paused', () => {
    const c = new Cluster([global('g', { delayMs: 0 })], [node('n1')])
    c.converge()
    c.setNode('n1', { availability: 'pause' })
    const [t] = c.live('g')
    if (!t) throw new Error('no task')
    c.report(t.id, { state: 'failed', exitCode: 1 })
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    c.setNode('n1', { availability: 'active' })
    const r = c.reconcile()
    expect(r.create.map((x) => [x.nodeId, x.attempt])).toEqual([['n1', 1]])
    expect(r.update.map((x) => [x.id, x.desiredState])).toEqual([[t.id, 'shutdown']])
  })

  it('schedule validates the pinned node', () => {
    const c = new Cluster([global('g')], three())
    c.reconcile()
    c.setNode('n2', { status: 'down' })
    const s = c.schedule()
    expect(s.assignments.map((a) => a.nodeId)).toEqual(['n1', 'n3'])
    expect(s.unschedulable).toEqual([
      { taskId: expect.any(String), error: 'no suitable node (1 node(s) not available for new tasks)' },
    ])
  })
})
