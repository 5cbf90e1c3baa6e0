import { describe, expect, it } from 'vitest'
import { type PlacementFilter, type Service, schedule } from '../src/index.js'
import { fakeTask, global, node, replicated, T0 } from './helpers.js'

/** Services on network `enc` need ESP (the manager's filter for encrypted networks). */
const encrypted: PlacementFilter = {
  requirements: (s: Service) =>
    s.spec.networks.includes('enc') ? [{ capability: 'esp', why: 'encrypted network enc needs ESP' }] : [],
}
const onEnc = (s: Service): Service => ({ ...s, spec: { ...s.spec, networks: ['enc'] } })
const pendingTask = (id: string, serviceId: string, nodeId = '') =>
  fakeTask({ id, serviceId, nodeId, state: 'pending' })

describe('placement filter', () => {
  it('places tasks of a service on an encrypted network only on nodes that can encrypt', () => {
    const nodes = [node('n1'), node('n2', { capabilities: ['esp'] }), node('n3', { capabilities: ['ipvs'] })]
    const s = schedule({
      services: [onEnc(replicated('s1', 2))],
      tasks: [pendingTask('t1', 's1'), pendingTask('t2', 's1')],
      nodes,
      now: T0,
      filter: encrypted,
    })
    expect(s.assignments.map((a) => a.nodeId)).toEqual(['n2', 'n2'])
  })

  it('keeps the task pending, naming the nodes that cannot and why; a plain service beside it is placed', () => {
    const nodes = [node('n2'), node('n1')]
    const s = schedule({
      services: [onEnc(replicated('s1', 1)), replicated('plain', 1)],
      tasks: [pendingTask('t1', 's1'), pendingTask('t2', 'plain')],
      nodes,
      now: T0,
      filter: encrypted,
    })
    expect(s.unschedulable).toEqual([
      { taskId: 't1', error: 'encrypted network enc needs ESP; nodes host-n1, host-n2 cannot' },
    ])
    expect(s.update.find((t) => t.id === 't1')).toMatchObject({ state: 'pending', nodeId: '' })
    expect(s.assignments).toEqual([{ taskId: 't2', nodeId: 'n1' }])
    // without the filter (or for nodes that report esp) it would be placed
    expect(
      schedule({ services: [onEnc(replicated('s1', 1))], tasks: [pendingTask('t1', 's1')], nodes, now: T0 })
        .assignments,
    ).toHaveLength(1)
  })

  it('holds a global task back on its own node when that node cannot', () => {
    const s = schedule({
      services: [onEnc(global('g'))],
      tasks: [pendingTask('t1', 'g', 'n1'), pendingTask('t2', 'g', 'n2')],
      nodes: [node('n1'), node('n2', { capabilities: ['esp'] })],
      now: T0,
      filter: encrypted,
    })
    expect(s.assignments).toEqual([{ taskId: 't2', nodeId: 'n2' }])
    expect(s.unschedulable).toEqual([
      { taskId: 't1', error: 'encrypted network enc needs ESP; node host-n1 cannot' },
    ])
  })
})
