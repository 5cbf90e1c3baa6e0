import { describe, expect, it } from 'vitest'
import { schedule, type Task } from '../src/index.js'
import { Cluster, fakeTask, node, replicated, T0 } from './helpers.js'

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs]
  let s = seed
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

describe('schedule', () => {
  it('spreads by tasks of the service, then total tasks, then node id', () => {
    // n1 already runs 2 tasks of another service; n2 one; n3 none.
    const c = new Cluster([replicated('other', 3), replicated('s1', 0)], [node('n1'), node('n2'), node('n3')])
    c.nodes = [node('n1')]
    c.setService(replicated('other', 2))
    c.converge()
    c.nodes = [node('n1'), node('n2')]
    c.setService(replicated('other', 3))
    c.converge()
    expect(c.spread('other')).toEqual({ n1: 2, n2: 1 })
    c.nodes = [node('n1'), node('n2'), node('n3')]
    c.setService(replicated('s1', 4))
    c.reconcile()
    const s = c.schedule()
    // n3 (0 total) first, then n2 (1 total), then n1; the 4th goes to n3 again (1 of s1, 1 total).
    expect(s.assignments.map((a) => a.nodeId)).toEqual(['n3', 'n2', 'n1', 'n3'])
    expect(s.update.every((t) => t.state === 'assigned' && t.error === '' && t.statusAt === c.now)).toBe(true)
  })

  it('is deterministic whatever the input order', () => {
    const c = new Cluster(
      [replicated('a', 5), replicated('b', 4)],
      ['n4', 'n2', 'n3', 'n1'].map((id) => node(id)),
    )
    c.reconcile()
    const input = { services: c.services, tasks: c.tasks, nodes: c.nodes, now: c.now }
    const expected = schedule(input).assignments
    expect(new Set(expected.map((a) => a.taskId)).size).toBe(9)
    for (let seed = 1; seed < 20; seed++) {
      const got = schedule({
        ...input,
        tasks: shuffled(input.tasks, seed),
        nodes: shuffled(input.nodes, seed * 7),
      })
      expect(got.assignments).toEqual(expected)
    }
    // Every node gets 2 or 3, each service at most 2 per node.
    const perNode = new Map<string, number>()
    for (const a of expected) perNode.set(a.nodeId, (perNode.get(a.nodeId) ?? 0) + 1)
    expect([...perNode.values()].sort()).toEqual([2, 2, 2, 3])
  })

  it('no suitable node: tasks stay pending with the reason, updated only when it changes', () => {
    const c = new Cluster(
      [replicated('s1', 2)],
      [
        node('n1', { availability: 'drain' }),
        node('n2', { status: 'down' }),
        node('n3', { availability: 'pause' }),
      ],
    )
    c.reconcile()
    const s = c.schedule()
    expect(s.assignments).toEqual([])
    expect(s.unschedulable.map((u) => u.error)).toEqual([
      'no suitable node (3 node(s) not available for new tasks)',
      'no suitable node (3 node(s) not available for new tasks)',
    ])
    expect(s.update.map((t) => [t.state, t.error])).toEqual([
      ['pending', 'no suitable node (3 node(s) not available for new tasks)'],
      ['pending', 'no suitable node (3 node(s) not available for new tasks)'],
    ])
    c.advance(1000)
    expect(c.schedule().update).toEqual([])
    // A node becomes available: the pending tasks are placed (the retry needs no other event).
    c.setNode('n3', { availability: 'active' })
    expect(c.schedule().assignments.map((a) => a.nodeId)).toEqual(['n3', 'n3'])
  })

  it('no nodes at all', () => {
    const c = new Cluster([replicated('s1', 1)], [])
    c.reconcile()
    expect(c.schedule().unschedulable.map((u) => u.error)).toEqual([
      'no suitable node (no nodes in the cluster)',
    ])
  })

  it('ignores tasks not wanted, already assigned, or of unknown services', () => {
    const base = fakeTask({ id: 'x', nodeId: '', desiredState: 'shutdown', state: 'new' })
    const tasks: Task[] = [
      base,
      { ...base, id: 'y', desiredState: 'running', serviceId: 'gone' },
      { ...base, id: 'z', desiredState: 'running', state: 'assigned', nodeId: 'n1' },
    ]
    expect(schedule({ tasks, nodes: [node('n1')], services: [replicated('s1', 1)], now: T0 })).toEqual({
      assignments: [],
      unschedulable: [],
      update: [],
    })
  })

  it('puts nodes with 5+ recent failures of the service last', () => {
    const failed = (i: number): Task =>
      fakeTask({ id: `f${i}`, desiredState: 'shutdown', state: 'failed', statusAt: T0 - 1000, attempt: i })
    const pending: Task = { ...failed(9), id: 'p', nodeId: '', desiredState: 'running', state: 'pending' }
    const nodes = [node('n1'), node('n2')]
    const services = [replicated('s1', 1)]
    const five = [0, 1, 2, 3, 4].map(failed)
    expect(schedule({ tasks: [...five, pending], nodes, services, now: T0 }).assignments).toEqual([
      { taskId: 'p', nodeId: 'n2' },
    ])
    expect(schedule({ tasks: [...five.slice(1), pending], nodes, services, now: T0 }).assignments).toEqual([
      { taskId: 'p', nodeId: 'n1' },
    ])
    // Older than 5 minutes: forgotten.
    expect(
      schedule({ tasks: [...five, pending], nodes, services, now: T0 + 5 * 60_000 }).assignments,
    ).toEqual([{ taskId: 'p', nodeId: 'n1' }])
  })

  it('stays even through churn: tasks still stopping do not count, assigned ones do', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((id) => node(id))
    const c = new Cluster([replicated('s1', 20)], nodes)
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 5, n2: 5, n3: 5, n4: 5 })
    for (let round = 0; round < 3; round++) {
      // scale to 0: the old tasks are asked to stop, but their agents have not answered yet
      c.setService(replicated('s1', 0))
      c.reconcile()
      // scale back up before any of them reports: the new tasks must spread evenly anyway
      c.setService(replicated('s1', 20))
      c.reconcile()
      c.schedule()
      expect(c.spread('s1')).toEqual({ n1: 5, n2: 5, n3: 5, n4: 5 })
      c.converge()
    }
    const [victim] = c.live('s1').filter((t) => t.nodeId === 'n2')
    if (!victim) throw new Error('no task on n2')
    // a failure's replacement goes where the fewest tasks will run, not onto one node
    c.report(victim.id, { state: 'failed', exitCode: 1 })
    c.advance(10_000)
    c.converge()
    const spread = c.spread('s1')
    expect(Object.values(spread).reduce((a, b) => a + b, 0)).toBe(20)
    expect(Math.max(...Object.values(spread))).toBeLessThanOrEqual(6)
  })
})
