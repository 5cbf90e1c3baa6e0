import { describe, expect, it } from 'vitest'
import { reportOf } from '../src/task-names.js'

describe('the report of an ended task', () => {
  it('says OOM when the kernel killed it at its memory limit, plain exit otherwise', () => {
    expect(reportOf('t1', { state: 'exited', exitCode: 137, oomKilled: true }, 'running')).toEqual({
      id: 't1',
      state: 'failed',
      exitCode: 137,
      error: 'task: non-zero exit (137): OOM killed: the task reached its memory limit',
    })
    expect(reportOf('t1', { state: 'exited', exitCode: 137 }, 'running').error).toBe(
      'task: non-zero exit (137)',
    )
    expect(reportOf('t1', { state: 'exited', exitCode: 0, oomKilled: true }, 'running').state).toBe(
      'complete',
    )
  })
})
