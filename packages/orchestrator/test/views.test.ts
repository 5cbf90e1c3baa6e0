import { describe, expect, it } from 'vitest'
import { formatTaskError, humanDuration } from '../src/index.js'
import { Cluster, global, node, replicated } from './helpers.js'

describe('views', () => {
  it('service ls row and replicas for replicated and global services', () => {
    const c = new Cluster(
      [replicated('s1', 3), global('g')],
      [node('n1'), node('n2'), node('n3', { availability: 'drain' })],
    )
    c.reconcile()
    const [s1, g] = c.services as [never, never]
    expect(c.orch.serviceView(s1, c.tasks, c.nodes)).toEqual({
      id: 's1',
      name: 'svc-s1',
      mode: 'replicated',
      replicas: '0/3',
    })
    c.converge()
    expect(c.orch.serviceReplicas(s1, c.tasks, c.nodes)).toBe('3/3')
    expect(c.orch.serviceView(g, c.tasks, c.nodes)).toMatchObject({ mode: 'global', replicas: '2/2' })
  })

  it('service ps rows: names, hostnames, states with age, history indented', () => {
    const c = new Cluster([replicated('s1', 2, { delayMs: 0 })], [node('n1'), node('n2')])
    c.converge()
    const first = c.live().find((t) => t.slot === 1)
    if (!first) throw new Error('no slot 1')
    c.advance(90_000)
    c.report(first.id, {
      state: 'failed',
      exitCode: 1,
      error: 'task: non-zero exit (1): something long went wrong',
    })
    c.advance(2000)
    c.converge()
    c.advance(5000)
    const rows = c.orch.serviceTasksView(c.services[0] as never, c.tasks, c.nodes, c.now)
    expect(rows.map((r) => [r.name, r.node, r.desiredState, r.currentState, r.error])).toEqual([
      ['svc-s1.1', 'host-n1', 'Running', 'Running 5 seconds ago', ''],
      [' \\_ svc-s1.1', 'host-n1', 'Shutdown', 'Failed 7 seconds ago', '"task: non-zero exit (1): some…"'],
      ['svc-s1.2', 'host-n2', 'Running', 'Running about a minute ago', ''],
    ])
  })

  it('global task names use the node id; unassigned tasks have no node', () => {
    const c = new Cluster([global('g'), replicated('s1', 1)], [node('n1')])
    c.reconcile()
    const [g, s1] = c.services as [never, never]
    const gt = c.tasks.find((t) => t.serviceId === 'g')
    const st = c.tasks.find((t) => t.serviceId === 's1')
    if (!gt || !st) throw new Error('missing tasks')
    expect(c.orch.taskView(gt, g, c.nodes, c.now)).toMatchObject({ name: 'svc-g.n1', node: 'host-n1' })
    expect(c.orch.taskView(st, s1, c.nodes, c.now)).toMatchObject({
      name: 'svc-s1.1',
      node: '',
      desiredState: 'Running',
      currentState: 'New less than a second ago',
    })
  })

  it("humanDuration matches Docker's go-units", () => {
    expect(
      [0, 999, 1000, 59_000, 60_000, 119_000, 120_000, 3_599_000, 3_600_000, 5_400_000].map(humanDuration),
    ).toEqual([
      'Less than a second',
      'Less than a second',
      '1 second',
      '59 seconds',
      'About a minute',
      'About a minute',
      '2 minutes',
      '59 minutes',
      'About an hour',
      '2 hours',
    ])
    expect(humanDuration(3 * 86_400_000)).toBe('3 days')
    expect(humanDuration(3 * 7 * 86_400_000)).toBe('3 weeks')
    expect(humanDuration(90 * 86_400_000)).toBe('3 months')
    expect(humanDuration(3 * 365 * 86_400_000)).toBe('3 years')
  })

  it('errors are quoted and cut to 30 characters', () => {
    expect(formatTaskError('')).toBe('')
    expect(formatTaskError('short')).toBe('"short"')
    expect(formatTaskError('no suitable node (insufficient resources on 1 node)')).toBe(
      '"no suitable node (insufficien…"',
    )
  })
})
