import { ManualClock } from '@swarmnet/interface'
import { describe, expect, it } from 'vitest'
import { Liveness } from '../src/liveness.js'

describe('liveness', () => {
  it('is down after the missed periods of its own heartbeat period', async () => {
    const clock = new ManualClock()
    const slow = new Liveness(clock, 20_000, 2) // an emulated cluster: 40 s of silence
    const fast = new Liveness(clock) // defaults: 5 s × 3
    expect(slow.status('a')).toBe('unknown')
    slow.seen('a')
    fast.seen('a')
    await clock.advance(16_000)
    expect(fast.status('a')).toBe('down')
    expect(slow.status('a')).toBe('ready')
    await clock.advance(24_001)
    expect(slow.status('a')).toBe('down')
    expect(slow.downSince('a')).toBe(clock.now() - 1)
  })
})
