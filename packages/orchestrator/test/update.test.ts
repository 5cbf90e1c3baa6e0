import { describe, expect, it } from 'vitest'
import {
  InvalidUpdateConfigError,
  NoPreviousSpecError,
  type Service,
  type StatusReport,
  type Task,
  type UpdateConfig,
} from '../src/index.js'
import { Cluster, catchErr, global, node, replicated } from './helpers.js'

const nodes = [node('n1'), node('n2'), node('n3')]

/** A 4-replica service, converged, with the update config given. */
function running(update: Partial<UpdateConfig> = {}, rollback: Partial<UpdateConfig> = {}): Cluster {
  const c = new Cluster([replicated('s1', 4)], nodes)
  c.converge()
  const s = c.services[0] as Service
  c.setService(c.orch.updateService(s, { update, rollback }, c.now))
  c.converge()
  return c
}

const envOf = (t: Task): string | undefined => t.spec?.env.V
const svc = (c: Cluster): Service => c.services[0] as Service
/** Live tasks that run (what answers). */
const up = (c: Cluster): Task[] => c.live('s1').filter((t) => t.state === 'running')

function step(c: Cluster, ms: number, each?: () => void): void {
  c.advance(ms)
  c.rollout()
  c.reconcile()
  c.schedule()
  each?.()
  c.agents()
}

/**
 * Steps of `ms` (updater, reconcile, schedule, then `each` before the agents act) until `done`,
 * at most `max`.
 */
function run(c: Cluster, ms: number, done: () => boolean, max = 200, each?: () => void): number {
  for (let i = 0; i < max; i++) {
    if (done()) return i
    step(c, ms, each)
  }
  throw new Error(`not done after ${max} steps: ${JSON.stringify(svc(c).updateStatus)}`)
}

describe('rolling update', () => {
  it('parallelism 1, delay: one slot at a time, ≥ 3 of 4 running throughout, every task on the new spec', () => {
    const c = running({ parallelism: 1, delayMs: 1000, monitorMs: 2000 })
    c.setService(c.orch.updateService(svc(c), { envAdd: { V: '2' } }, c.now))
    expect(svc(c).updateStatus).toMatchObject({ state: 'updating' })
    let minUp = 4
    const starts: number[] = []
    run(
      c,
      250,
      () => svc(c).updateStatus?.state === 'completed',
      200,
      () => {
        minUp = Math.min(minUp, up(c).length)
        for (const t of c.tasks)
          if (envOf(t) === '2' && !starts.includes(t.createdAt)) starts.push(t.createdAt)
      },
    )
    expect(minUp).toBe(3)
    expect(up(c).map(envOf)).toEqual(['2', '2', '2', '2'])
    // each slot waits for the last one's task to run, then the delay
    for (let i = 1; i < starts.length; i++)
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000)
    expect(svc(c).updateStatus?.message).toBe('update completed')
  })

  it('parallelism 2 replaces two slots at once; 0 replaces all', () => {
    const c = running({ parallelism: 2 })
    c.setService(c.orch.updateService(svc(c), { envAdd: { V: '2' } }, c.now))
    c.rollout()
    expect(c.tasks.filter((t) => envOf(t) === '2').map((t) => t.slot)).toEqual([1, 2])
    const d = running({ parallelism: 0 })
    d.setService(d.orch.updateService(svc(d), { envAdd: { V: '2' } }, d.now))
    d.rollout()
    expect(d.tasks.filter((t) => envOf(t) === '2')).toHaveLength(4)
  })

  it('start-first never drops below the replica count', () => {
    const c = running({ order: 'start-first' })
    c.setService(c.orch.updateService(svc(c), { argv: ['sleep', '99'] }, c.now))
    let minUp = 4
    run(
      c,
      500,
      () => svc(c).updateStatus?.state === 'completed',
      200,
      () => {
        minUp = Math.min(minUp, up(c).length)
      },
    )
    expect(minUp).toBe(4)
    expect(up(c).map((t) => t.spec?.argv.join(' '))).toEqual(Array(4).fill('sleep 99'))
  })

  it('--force replaces every task with the same spec; nothing to roll out completes at once', () => {
    const c = running()
    const before = up(c).map((t) => t.id)
    c.setService(c.orch.updateService(svc(c), { force: true }, c.now))
    run(c, 1000, () => svc(c).updateStatus?.state === 'completed')
    expect(up(c).some((t) => before.includes(t.id))).toBe(false)
    const replicasOnly = c.orch.updateService(svc(c), { replicas: 5 }, c.now)
    expect(replicasOnly.updateStatus?.state).toBe('completed')
  })

  it('a monitor window: the update completes only after the last new task ran that long', () => {
    const c = running({ parallelism: 0, monitorMs: 5000 })
    c.setService(c.orch.updateService(svc(c), { envAdd: { V: '2' } }, c.now))
    const t0 = c.now
    run(c, 500, () => svc(c).updateStatus?.state === 'completed')
    expect(c.now - t0).toBeGreaterThanOrEqual(5000)
  })
})

/** Agents where tasks of argv `false` exit at once. */
function failing(c: Cluster): void {
  for (const t of c.tasks)
    if (t.spec?.argv[0] === 'false' && t.state === 'running' && t.desiredState === 'running')
      c.report(t.id, { state: 'failed', exitCode: 1, error: 'task: non-zero exit (1)' } as StatusReport)
}

describe('failure action', () => {
  it('pause: updateStatus paused with the reason, the other slots untouched', () => {
    const c = running({ failureAction: 'pause' })
    c.setService(c.orch.updateService(svc(c), { argv: ['false'] }, c.now))
    run(
      c,
      500,
      () => svc(c).updateStatus?.state === 'paused',
      50,
      () => failing(c),
    )
    expect(svc(c).updateStatus?.message).toMatch(
      /^update paused due to failure or early termination of task t/,
    )
    const old = up(c).filter((t) => t.spec?.argv[0] === 'sleep').length
    expect(old).toBeGreaterThanOrEqual(2)
    // paused: no more slots are touched
    for (let i = 0; i < 20; i++) step(c, 500, () => failing(c))
    expect(up(c).filter((t) => t.spec?.argv[0] === 'sleep')).toHaveLength(old)
    expect(svc(c).updateStatus?.state).toBe('paused')
  })

  it('rollback: back on the old spec with all replicas running, rollback_completed', () => {
    const c = running({ failureAction: 'rollback' })
    c.setService(c.orch.updateService(svc(c), { argv: ['false'] }, c.now))
    run(
      c,
      500,
      () => svc(c).updateStatus?.state === 'rollback_completed',
      200,
      () => failing(c),
    )
    expect(svc(c).spec.argv).toEqual(['sleep', 'infinity'])
    expect(up(c).map((t) => t.spec?.argv[0])).toEqual(['sleep', 'sleep', 'sleep', 'sleep'])
    expect(svc(c).updateStatus?.message).toMatch(
      /^rollback completed \(update rolled back due to failure or early termination of task t\d+\)$/,
    )
  })

  it('continue, or a failure ratio above the failures: the update goes on', () => {
    for (const cfg of [{ failureAction: 'continue' as const }, { maxFailureRatio: 1 }]) {
      const c = running(cfg)
      c.setService(c.orch.updateService(svc(c), { argv: ['false'] }, c.now))
      run(
        c,
        500,
        () => svc(c).updateStatus?.state === 'completed',
        200,
        () => failing(c),
      )
      expect(c.tasks.filter((t) => t.spec?.argv[0] === 'sleep' && t.desiredState === 'running')).toEqual([])
    }
  })
})

describe('health checks', () => {
  it('a new task counts as running for the updater only once healthy', () => {
    const c = running({ parallelism: 1 })
    const health = { cmd: 'true' }
    c.setService(c.orch.updateService(svc(c), { health }, c.now))
    const newOnes = (): Task[] => c.tasks.filter((t) => t.spec?.health !== undefined)
    // the agents report running, never healthy: slot 1 is in flight for good
    for (let i = 0; i < 20; i++) step(c, 500)
    expect(newOnes()).toHaveLength(1)
    expect(newOnes()[0]?.runningAt).toBeUndefined()
    const report = (t: Task) => c.report(t.id, { state: 'running', health: 'healthy' })
    run(
      c,
      500,
      () => svc(c).updateStatus?.state === 'completed',
      200,
      () => {
        for (const t of newOnes()) if (t.state === 'running' && t.health === undefined) report(t)
      },
    )
    expect(up(c).map((t) => t.health)).toEqual(['healthy', 'healthy', 'healthy', 'healthy'])
    expect(c.orch.taskView(up(c)[0] as Task, svc(c), nodes, c.now).currentState).toMatch(/ \(healthy\)$/)
  })
})

describe('global services', () => {
  it('are updated node by node, each task on its own node', () => {
    const c = new Cluster([global('g1')], nodes)
    c.converge()
    const g = c.services[0] as Service
    c.setService(c.orch.updateService(g, { envAdd: { V: '2' } }, c.now))
    const slots = (): string[] =>
      c
        .live('g1')
        .map((t) => `${t.nodeId}:${t.spec?.env.V ?? '-'}`)
        .sort()
    c.rollout()
    expect(c.tasks.filter((t) => t.state === 'new').map((t) => t.nodeId)).toEqual(['n1'])
    run(c, 500, () => c.services[0]?.updateStatus?.state === 'completed')
    expect(slots()).toEqual(['n1:2', 'n2:2', 'n3:2'])
  })
})

describe('placement', () => {
  it('an update keeps the placement and resources it does not change; it may replace them', () => {
    const c = new Cluster([replicated('s1', 1)], nodes)
    const placement = { constraints: ['node.hostname==host-n1'] }
    const resources = { reservations: { memoryBytes: 64 * 1024 * 1024 } }
    const s = { ...svc(c), spec: { ...svc(c).spec, placement, resources } }
    const next = c.orch.updateService(s, { envAdd: { V: '2' } }, c.now)
    expect(next.spec).toMatchObject({ placement, resources, env: { V: '2' } })
    const moved = c.orch.updateService(
      next,
      { placement: { constraints: ['node.hostname==host-n2'] } },
      c.now,
    )
    expect(moved.spec.placement?.constraints).toEqual(['node.hostname==host-n2'])
    expect(moved.spec.resources).toEqual(resources)
    // placement alone: no rolling update (misfit tasks are moved by reconcile)
    expect(moved.updateStatus).toEqual(next.updateStatus)
  })
})

describe('rollback', () => {
  it('returns to the previous spec the same way, then back again', () => {
    const c = running()
    c.setService(c.orch.updateService(svc(c), { envAdd: { V: '2' } }, c.now))
    run(c, 500, () => svc(c).updateStatus?.state === 'completed')
    c.setService(c.orch.rollbackService(svc(c), c.now))
    expect(svc(c).updateStatus).toMatchObject({
      state: 'rollback_started',
      message: 'manually requested rollback',
    })
    let minUp = 4
    run(
      c,
      500,
      () => svc(c).updateStatus?.state === 'rollback_completed',
      200,
      () => {
        minUp = Math.min(minUp, up(c).length)
      },
    )
    expect(minUp).toBe(3)
    expect(up(c).map(envOf)).toEqual([undefined, undefined, undefined, undefined])
    expect(svc(c).previous?.spec.env).toEqual({ V: '2' })
    expect(svc(c).updateStatus?.message).toBe('rollback completed')
  })

  it('is refused for a service never updated; bad configs are refused', () => {
    const c = new Cluster([replicated('s1', 1)], nodes)
    expect(catchErr(() => c.orch.rollbackService(svc(c), c.now))).toBeInstanceOf(NoPreviousSpecError)
    for (const update of [{ parallelism: -1 }, { maxFailureRatio: 2 }, { delayMs: -5 }, { order: 'x' }])
      expect(catchErr(() => c.orch.updateService(svc(c), { update } as never, c.now))).toBeInstanceOf(
        InvalidUpdateConfigError,
      )
    expect(
      catchErr(() => c.orch.updateService(svc(c), { rollback: { failureAction: 'rollback' } }, c.now)),
    ).toBeInstanceOf(InvalidUpdateConfigError)
  })
})
