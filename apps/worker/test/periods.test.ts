import { describe, expect, it } from 'vitest'
import { DEFAULT_PERIODS, managerPeriods, parsePeriods } from '../src/periods.js'

describe('agent periods', () => {
  it('takes only what is set, and hands the manager its share', () => {
    expect(parsePeriods({})).toEqual({})
    const p = parsePeriods({ SWARMNET_HEARTBEAT_MS: '15000', SWARMNET_TASK_SYNC_MS: '3000', OTHER: 'x' })
    expect(p).toEqual({ heartbeatMs: 15_000, taskSyncMs: 3_000 })
    expect(managerPeriods({ ...p, downAfterPeriods: 4 })).toEqual({
      heartbeatPeriodMs: 15_000,
      downAfterPeriods: 4,
    })
    expect(DEFAULT_PERIODS).toEqual({
      heartbeatMs: 5_000,
      downAfterPeriods: 3,
      taskSyncMs: 1_000,
      driftCheckMs: 5_000,
      orchestrateMs: 1_000,
    })
  })

  it('refuses a bad value with its name and range', () => {
    for (const [name, value] of [
      ['SWARMNET_HEARTBEAT_MS', 'abc'],
      ['SWARMNET_HEARTBEAT_MS', '5'],
      ['SWARMNET_DOWN_AFTER_PERIODS', '0'],
      ['SWARMNET_DRIFT_CHECK_MS', '1.5'],
    ] as const)
      expect(() => parsePeriods({ [name]: value })).toThrow(
        new RegExp(`${name}='${value.replace('.', '\\.')}' must be an integer`),
      )
  })
})
