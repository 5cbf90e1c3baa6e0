import { describe, expect, it } from 'vitest'
import { restartDecision, type Task } from '../src/index.js'
import { Cluster, fakeTask, node, replicated, T0 } from './helpers.js'

function oneTask(c: Cluster): Task {
  c.converge()
  const [t] = c.live()
  if (!t) throw new Error('no live task')
  return t
}

describe('restart policy', () => {
  it('any: replaced in the same slot, attempt + 1, only once the delay has passed', () => {
    const c = new Cluster([replicated('s1', 1)], [node('n1')])
    const t = oneTask(c)
    c.advance(60_000)
    c.report(t.id, { state: 'complete', exitCode: 0 })
    const ended = c.now
    c.advance(4999)
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    expect(c.orch.serviceReplicas(c.services[0] as never, c.tasks, c.nodes)).toBe('0/1')
    c.advance(1)
    const r = c.reconcile()
    expect(c.now).toBe(ended + 5000)
    expect(r.create.map((x) => [x.slot, x.attempt, x.nodeId, x.state])).toEqual([[t.slot, 1, '', 'new']])
    expect(r.update.map((x) => [x.id, x.state, x.desiredState])).toEqual([[t.id, 'complete', 'shutdown']])
    c.converge()
    expect(c.live().map((x) => [x.slot, x.attempt, x.state])).toEqual([[1, 1, 'running']])
  })

  it('on-failure: a clean exit ends the slot for good; a failure restarts it', () => {
    const c = new Cluster([replicated('ok', 1, { condition: 'on-failure', delayMs: 0 })], [node('n1')])
    const t = oneTask(c)
    c.report(t.id, { state: 'complete', exitCode: 0 })
    c.advance(60_000)
    // Not restarted: its desired state settles to shutdown, once, and the slot is not refilled
    // either (it counts as done).
    const settled = c.reconcile()
    expect(settled.create).toEqual([])
    expect(settled.update.map((x) => [x.id, x.desiredState, x.state])).toEqual([
      [t.id, 'shutdown', 'complete'],
    ])
    expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    expect(c.orch.serviceReplicas(c.services[0] as never, c.tasks, c.nodes)).toBe('0/1')

    const f = new Cluster([replicated('bad', 1, { condition: 'on-failure', delayMs: 0 })], [node('n1')])
    const u = oneTask(f)
    f.report(u.id, { state: 'failed', exitCode: 1, error: 'task: non-zero exit (1)' })
    expect(f.reconcile().create.map((x) => x.attempt)).toEqual([1])

    const r = new Cluster([replicated('rej', 1, { condition: 'on-failure', delayMs: 0 })], [node('n1')])
    const v = oneTask(r)
    r.report(v.id, { state: 'rejected', error: 'no such command' })
    expect(r.reconcile().create).toHaveLength(1)
  })

  it('none: never restarted, and the slot is not refilled', () => {
    const c = new Cluster([replicated('s1', 2, { condition: 'none', delayMs: 0 })], [node('n1')])
    c.converge()
    const [t] = c.live()
    if (!t) throw new Error('no task')
    c.report(t.id, { state: 'failed', exitCode: 137 })
    expect(c.reconcile().update.map((x) => [x.id, x.desiredState])).toEqual([[t.id, 'shutdown']])
    for (let i = 0; i < 3; i++) {
      c.advance(60_000)
      expect(c.reconcile()).toEqual({ create: [], update: [], remove: [] })
    }
    expect(c.live()).toHaveLength(1)
  })

  it('maxAttempts: at most N restarts per slot', () => {
    const c = new Cluster([replicated('s1', 1, { maxAttempts: 2, delayMs: 1000 })], [node('n1')])
    c.converge()
    const attempts: number[] = []
    for (let i = 0; i < 5; i++) {
      const [t] = c.live()
      if (!t) break
      attempts.push(t.attempt)
      c.report(t.id, { state: 'failed', exitCode: 1 })
      c.advance(10_000)
      c.converge()
    }
    expect(attempts).toEqual([0, 1, 2])
    expect(c.tasks.map((t) => t.state)).toEqual(['failed', 'failed', 'failed'])
  })

  it('a node-failure replacement is immediate and does not use up an attempt', () => {
    const c = new Cluster([replicated('s1', 1, { maxAttempts: 1 })], [node('n1'), node('n2')])
    const t = oneTask(c)
    c.setNode(t.nodeId, { status: 'down' })
    expect(c.reconcile().create.map((x) => x.attempt)).toEqual([0])
  })

  it('back-off: the delay doubles on each consecutive failure, at most 10×, and resets after the window', () => {
    const c = new Cluster([replicated('s1', 1, { delayMs: 1000, windowMs: 30_000 })], [node('n1')])
    c.converge()
    /** Fails the slot's task at once and returns how long its replacement took to come. */
    const gap = (ranMs: number): number => {
      const [t] = c.live()
      if (!t) throw new Error('no live task')
      c.advance(ranMs)
      c.report(t.id, { state: 'failed', exitCode: 1 })
      const ended = c.now
      for (;;) {
        c.advance(100)
        c.converge(1)
        if (c.live().length > 0) return c.now - ended
      }
    }
    expect([gap(0), gap(0), gap(0), gap(0), gap(0), gap(0)]).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000])
    // a task that ran for the window: the count starts again
    expect([gap(30_000), gap(0)]).toEqual([1000, 2000])
  })

  it('restartDecision', () => {
    const base = fakeTask({ state: 'complete', exitCode: 0 })
    const any = { condition: 'any', delayMs: 5000, maxAttempts: 0 } as const
    expect(restartDecision(base, any, T0)).toEqual({ kind: 'wait', at: T0 + 5000 })
    expect(restartDecision(base, any, T0 + 5000)).toEqual({ kind: 'restart' })
    expect(restartDecision(base, { ...any, condition: 'on-failure' }, T0 + 5000)).toEqual({
      kind: 'never',
      reason: 'condition',
    })
    expect(restartDecision({ ...base, exitCode: 2 }, { ...any, condition: 'on-failure' }, T0 + 5000)).toEqual(
      {
        kind: 'restart',
      },
    )
    expect(restartDecision({ ...base, attempt: 3 }, { ...any, maxAttempts: 3 }, T0 + 5000)).toEqual({
      kind: 'never',
      reason: 'max-attempts',
    })
    expect(() => restartDecision({ ...base, state: 'running' }, any, T0)).toThrow(TypeError)
  })
})
