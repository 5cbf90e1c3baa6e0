import { describe, expect, it } from 'vitest'
import { Cluster, node, replicated } from './helpers.js'

const three = () => [node('n1'), node('n2'), node('n3')]

describe('replicated services', () => {
  it('places 3 replicas on 3 nodes one per node, slots 1..3', () => {
    const c = new Cluster([replicated('s1', 3)], three())
    const r = c.reconcile()
    expect(r.create.map((t) => [t.slot, t.nodeId, t.state, t.desiredState, t.attempt])).toEqual([
      [1, '', 'new', 'running', 0],
      [2, '', 'new', 'running', 0],
      [3, '', 'new', 'running', 0],
    ])
    expect(r.update).toEqual([])
    c.schedule()
    c.agents()
    expect(c.spread('s1')).toEqual({ n1: 1, n2: 1, n3: 1 })
    expect(c.live('s1').every((t) => t.state === 'running')).toBe(true)
    expect(c.orch.serviceReplicas(c.services[0] as never, c.tasks, c.nodes)).toBe('3/3')
  })

  it('is a no-op once converged', () => {
    const c = new Cluster([replicated('s1', 3)], three())
    c.converge()
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    expect(c.schedule()).toEqual({ assignments: [], unschedulable: [], update: [] })
  })

  it('scale 3 → 1 shuts down slots 3 and 2, and nothing else', () => {
    const c = new Cluster([replicated('s1', 3)], three())
    c.converge()
    c.advance(1000)
    c.setService(replicated('s1', 1))
    const r = c.reconcile()
    expect(r.create).toEqual([])
    expect(r.remove).toEqual([])
    expect(r.update.map((t) => [t.slot, t.desiredState, t.state])).toEqual([
      [2, 'shutdown', 'running'],
      [3, 'shutdown', 'running'],
    ])
    expect(r.update.every((t) => t.updatedAt === c.now)).toBe(true)
    c.agents()
    expect(c.slotsOf('s1')).toEqual([1])
    // The stopped tasks stay as history of their slots.
    expect(c.tasks.filter((t) => t.state === 'shutdown').map((t) => t.slot)).toEqual([2, 3])
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
  })

  it('scale 1 → 3 creates slots 2 and 3 and spreads them', () => {
    const c = new Cluster([replicated('s1', 1)], three())
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 1 })
    c.setService(replicated('s1', 3))
    const r = c.reconcile()
    expect(r.create.map((t) => [t.slot, t.attempt])).toEqual([
      [2, 0],
      [3, 0],
    ])
    c.converge()
    expect(c.slotsOf('s1')).toEqual([1, 2, 3])
    expect(c.spread('s1')).toEqual({ n1: 1, n2: 1, n3: 1 })
  })

  it('a never-dispatched task removed by scale-down is shut down on the spot', () => {
    const c = new Cluster([replicated('s1', 2)], [node('n1', { availability: 'drain' })])
    c.reconcile()
    c.schedule()
    expect(c.live('s1').map((t) => t.state)).toEqual(['pending', 'pending'])
    c.setService(replicated('s1', 0))
    const r = c.reconcile()
    expect(r.update.map((t) => [t.slot, t.desiredState, t.state])).toEqual([
      [1, 'shutdown', 'shutdown'],
      [2, 'shutdown', 'shutdown'],
    ])
    expect(c.live('s1')).toEqual([])
  })

  it('keeps one head per slot when two tasks want to run', () => {
    const c = new Cluster([replicated('s1', 1)], three())
    c.converge()
    const [first] = c.tasks
    if (!first) throw new Error('no task')
    c.store.set('dup', { ...first, id: 'dup', attempt: first.attempt + 1, createdAt: c.now + 1 })
    const r = c.reconcile()
    expect(r.update.map((t) => [t.id, t.desiredState])).toEqual([[first.id, 'shutdown']])
    expect(r.create).toEqual([])
  })
})

describe('node failure and availability', () => {
  it('node down: its task is orphaned and replaced in the same slot, spread over the live nodes (2+1)', () => {
    const c = new Cluster([replicated('s1', 3)], three())
    c.converge()
    const lost = c.live('s1').find((t) => t.nodeId === 'n3')
    if (!lost) throw new Error('no task on n3')
    c.advance(10_000)
    c.setNode('n3', { status: 'down' })
    const r = c.reconcile()
    expect(r.update).toEqual([
      {
        ...lost,
        state: 'orphaned',
        desiredState: 'shutdown',
        error: 'node n3 is down',
        statusAt: c.now,
        updatedAt: c.now,
      },
    ])
    expect(r.create.map((t) => [t.slot, t.nodeId, t.attempt])).toEqual([[lost.slot, '', lost.attempt]])
    const s = c.schedule()
    expect(s.assignments).toEqual([{ taskId: r.create[0]?.id, nodeId: 'n1' }])
    c.agents()
    expect(c.spread('s1')).toEqual({ n1: 2, n2: 1 })
    expect(c.slotsOf('s1')).toEqual([1, 2, 3])
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
  })

  it('node removed from the cluster: same as down', () => {
    const c = new Cluster([replicated('s1', 2)], [node('n1'), node('n2')])
    c.converge()
    c.nodes = [node('n1')]
    const r = c.reconcile()
    expect(r.update.map((t) => [t.nodeId, t.state, t.desiredState, t.error])).toEqual([
      ['n2', 'orphaned', 'shutdown', 'node n2 was removed'],
    ])
    expect(r.create).toHaveLength(1)
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 2 })
  })

  it('drain: the task is asked to shut down (not orphaned) and replaced elsewhere', () => {
    const c = new Cluster([replicated('s1', 3)], three())
    c.converge()
    c.setNode('n2', { availability: 'drain' })
    const r = c.reconcile()
    expect(r.update.map((t) => [t.nodeId, t.state, t.desiredState])).toEqual([['n2', 'running', 'shutdown']])
    expect(r.create).toHaveLength(1)
    c.schedule()
    c.agents()
    expect(c.spread('s1')).toEqual({ n1: 2, n3: 1 })
    expect(c.tasks.find((t) => t.nodeId === 'n2')?.state).toBe('shutdown')
  })

  it('pause: existing tasks stay, new ones go elsewhere', () => {
    const c = new Cluster([replicated('s1', 2)], [node('n1'), node('n2')])
    c.converge()
    c.setNode('n1', { availability: 'pause' })
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    c.setService(replicated('s1', 4))
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 1, n2: 3 })
  })

  it('unknown node status (manager restart): tasks are kept', () => {
    const c = new Cluster([replicated('s1', 2)], [node('n1'), node('n2')])
    c.converge()
    c.setNode('n1', { status: 'unknown' })
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
  })
})
