import type { Assignment, TaskReport } from '@swarmnet/wire'
import { describe, expect, it } from 'vitest'
import { DeltaDispatcher, type SyncAnswer, type SyncCall } from '../src/dispatcher-client.js'

const assignment = (id: string, desiredState: Assignment['desiredState'] = 'running'): Assignment => ({
  id,
  serviceId: 's',
  serviceName: 'web',
  slot: 1,
  desiredState,
  argv: ['x'],
  env: {},
  attachments: [],
})

/** A manager that records the calls and answers what the test queues (an Error: the call fails). */
function managerScript(answers: Array<SyncAnswer | Error>) {
  const calls: SyncCall[] = []
  return {
    calls,
    answers,
    call: async (req: SyncCall) => {
      calls.push(structuredClone(req))
      const a = answers.shift()
      if (a === undefined || a instanceof Error) throw a ?? new Error('no answer queued')
      return a
    },
  }
}

const running: TaskReport = { id: 't1', state: 'running' }

describe('the node end of the dispatcher session speaks deltas', () => {
  it('sends changed reports and held only, applies assignment changes to its copy', async () => {
    const m = managerScript([
      { revision: 'e:1', full: true, assignments: [assignment('t1')], removed: [], wantLogs: [] },
      { revision: 'e:1', full: false, assignments: [], removed: [], wantLogs: [] },
      {
        revision: 'e:3',
        full: false,
        assignments: [assignment('t1', 'shutdown'), assignment('t2')],
        removed: [],
        wantLogs: [],
      },
      { revision: 'e:4', full: false, assignments: [], removed: ['t1'], wantLogs: [] },
    ])
    const d = new DeltaDispatcher(m.call)
    const first = await d.sync({ reports: [running], held: ['t1'] }, {})
    expect(first.assignments.map((a) => a.id)).toEqual(['t1'])
    expect(m.calls[0]).toEqual({ reports: [running], held: ['t1'] })

    await d.sync({ reports: [running], held: ['t1'] }, {})
    expect(m.calls[1]).toEqual({ reports: [], since: 'e:1' })

    const third = await d.sync({ reports: [{ id: 't1', state: 'shutdown' }], held: ['t1'] }, {})
    expect(m.calls[2]).toEqual({ reports: [{ id: 't1', state: 'shutdown' }], since: 'e:1' })
    expect(third.assignments.map((a) => [a.id, a.desiredState])).toEqual([
      ['t1', 'shutdown'],
      ['t2', 'running'],
    ])

    const fourth = await d.sync({ reports: [{ id: 't1', state: 'shutdown' }], held: [] }, {})
    expect(m.calls[3]).toEqual({ reports: [], held: [], since: 'e:3' })
    expect(fourth.assignments.map((a) => a.id)).toEqual(['t2'])
  })

  it('a change of health alone is a changed report (the manager must learn a task became healthy)', async () => {
    const answer = { revision: 'e:1', full: false, assignments: [], removed: [], wantLogs: [] }
    const m = managerScript([{ ...answer, full: true }, answer, answer])
    const d = new DeltaDispatcher(m.call)
    await d.sync({ reports: [{ ...running, health: 'starting' }], held: ['t1'] }, {})
    await d.sync({ reports: [{ ...running, health: 'healthy' }], held: ['t1'] }, {})
    expect(m.calls[1]?.reports).toEqual([{ ...running, health: 'healthy' }])
    await d.sync({ reports: [{ ...running, health: 'healthy' }], held: ['t1'] }, {})
    expect(m.calls[2]?.reports).toEqual([])
  })

  it('a failed call is sent again whole; a manager that lost us gets everything next time', async () => {
    const failed: TaskReport = { id: 't1', state: 'failed' }
    const m = managerScript([
      { revision: 'e:1', full: true, assignments: [], removed: [], wantLogs: [] },
      new Error('unreachable'),
      // the manager restarted meanwhile: it answers whole, from a new epoch
      { revision: 'f:7', full: true, assignments: [assignment('t9')], removed: [], wantLogs: [] },
      { revision: 'f:7', full: false, assignments: [], removed: [], wantLogs: ['t9'] },
    ])
    const d = new DeltaDispatcher(m.call)
    await d.sync({ reports: [running], held: ['t1'] }, {})
    await expect(d.sync({ reports: [failed], held: [] }, {})).rejects.toThrow('unreachable')
    expect(m.calls[1]).toEqual({ reports: [failed], held: [], since: 'e:1' })
    await d.sync({ reports: [failed], held: [] }, {})
    expect(m.calls[2]).toEqual({ reports: [failed], held: [], since: 'e:1' })
    const after = await d.sync({ reports: [failed], held: [] }, {})
    expect(m.calls[3]).toEqual({ reports: [failed], held: [], since: 'f:7' })
    expect(after.assignments.map((a) => a.id)).toEqual(['t9'])
    expect(after.wantLogs).toEqual(['t9'])
  })
})
