import { NotFoundError } from '@swarmnet/interface'
import type { Task } from '@swarmnet/orchestrator'
import type { TaskJson } from '@swarmnet/wire'
import { describe, expect, it } from 'vitest'
import { type LogsComponents, serviceLogs } from '../src/logs.js'

const row = (id: string, slot: number, name = `web.${slot}`): TaskJson => ({
  id,
  name,
  service: 'web',
  slot,
  node: 'host-1',
  nodeId: 'n1',
  desiredState: 'running',
  state: 'running',
  currentState: '',
  error: '',
  addresses: [],
})

// service ps order: by slot, the newest attempt of a slot first (older ones indented)
const ROWS = [
  row('s1new', 1),
  row('s1old', 1, ' \\_ web.1'),
  row('s2', 2),
  { ...row('unassigned', 3), nodeId: '' },
]

function components(asked: Array<{ id: string; from?: number }>): LogsComponents {
  return {
    ps: async (ref) => {
      if (ref === 'web' || ref === 'svc1') return ROWS
      throw new NotFoundError(`service ${ref} not found`)
    },
    tasks: async () => ROWS.map((r) => ({ id: r.id, serviceId: 'svc1' }) as Task),
    waitLogs: async (wanted) => {
      asked.push(...wanted)
      return wanted.map((w) => ({ text: `${w.id} line 1\n${w.id} line 2\n`, end: 100 }))
    },
  }
}

describe('service logs on the manager', () => {
  it('every attempt with a node, slot by slot, the oldest attempt first; history names unindented', async () => {
    const asked: Array<{ id: string; from?: number }> = []
    const out = await serviceLogs(components(asked), { ref: 'web', tail: 1 })
    expect(out.map((o) => [o.task, o.name, o.slot])).toEqual([
      ['s1old', 'web.1', 1],
      ['s1new', 'web.1', 1],
      ['s2', 'web.2', 2],
    ])
    expect(out[0]?.text).toBe('s1old line 2\n')
    expect(out[0]?.end).toBe(100)
    expect(asked).toEqual([{ id: 's1old' }, { id: 's1new' }, { id: 's2' }])
  })

  it('a follower: known tasks from their position, new ones from their start', async () => {
    const asked: Array<{ id: string; from?: number }> = []
    await serviceLogs(components(asked), { ref: 'web', from: { s1new: 40 }, follow: true })
    expect(asked).toEqual([
      { id: 's1old', from: 0 },
      { id: 's1new', from: 40 },
      { id: 's2', from: 0 },
    ])
  })

  it('one task by id or unique prefix; neither a service nor a task is not found', async () => {
    const out = await serviceLogs(components([]), { ref: 's1o' })
    expect(out.map((o) => o.task)).toEqual(['s1old'])
    await expect(serviceLogs(components([]), { ref: 'ghost' })).rejects.toThrow('no service or task ghost')
  })
})
