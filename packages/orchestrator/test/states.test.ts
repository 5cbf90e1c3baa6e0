import { describe, expect, it } from 'vitest'
import { applyStatusReport, canTransition, isTerminal, stateRank, TASK_STATES } from '../src/index.js'
import { fakeTask, T0 } from './helpers.js'

const task = fakeTask()

describe('task states', () => {
  it("ranks states in swarmkit's order and numbers", () => {
    expect(TASK_STATES).toEqual([
      'new',
      'pending',
      'assigned',
      'accepted',
      'preparing',
      'starting',
      'running',
      'complete',
      'shutdown',
      'failed',
      'rejected',
      'remove',
      'orphaned',
    ])
    expect([stateRank('new'), stateRank('running'), stateRank('failed'), stateRank('orphaned')]).toEqual([
      0, 512, 704, 832,
    ])
    expect(TASK_STATES.filter(isTerminal)).toEqual([
      'complete',
      'shutdown',
      'failed',
      'rejected',
      'remove',
      'orphaned',
    ])
  })

  it('only moves forward, and terminal states are final', () => {
    expect(canTransition('assigned', 'running')).toBe(true)
    expect(canTransition('running', 'failed')).toBe(true)
    expect(canTransition('running', 'starting')).toBe(false)
    expect(canTransition('running', 'running')).toBe(false)
    expect(canTransition('complete', 'failed')).toBe(false)
    expect(canTransition('failed', 'running')).toBe(false)
  })

  it('applyStatusReport takes forward reports and ignores stale ones (same object back)', () => {
    const running = applyStatusReport(task, { state: 'running' }, T0 + 10)
    expect(running).toEqual({
      ...task,
      state: 'running',
      statusAt: T0 + 10,
      updatedAt: T0 + 10,
      runningAt: T0 + 10,
    })
    // A late 'starting' arriving after 'running' is ignored.
    expect(applyStatusReport(running, { state: 'starting' }, T0 + 11)).toBe(running)
    expect(applyStatusReport(running, { state: 'running' }, T0 + 12)).toBe(running)
    const failed = applyStatusReport(
      running,
      { state: 'failed', exitCode: 1, error: 'task: non-zero exit (1)' },
      T0 + 20,
    )
    expect(failed).toMatchObject({
      state: 'failed',
      exitCode: 1,
      error: 'task: non-zero exit (1)',
      statusAt: T0 + 20,
    })
    expect(applyStatusReport(failed, { state: 'rejected' }, T0 + 30)).toBe(failed)
    expect(applyStatusReport(failed, { state: 'bogus' as never }, T0 + 30)).toBe(failed)
    expect(JSON.parse(JSON.stringify(failed))).toEqual(failed)
  })
})
