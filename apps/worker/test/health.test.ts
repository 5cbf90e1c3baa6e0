import { ManualClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { TaskNotRunningError } from '@swarmnet/runtime'
import { describe, expect, it } from 'vitest'
import { type HealthCheck, HealthMonitor } from '../src/health.js'

/** A monitor whose check passes while `healthy()` says so, recording what it did. */
function setup(healthy: () => boolean) {
  const clock = new ManualClock()
  const log: string[] = []
  const stop = new AbortController()
  const monitor = new HealthMonitor(
    {
      clock,
      logger: silentLogger,
      exec: async (id, argv) => {
        log.push(`exec ${id} ${argv.join(' ')}`)
        return { exitCode: healthy() ? 0 : 1 }
      },
      enable: async (ids) => void log.push(`enable ${ids}`),
      disable: async (ids) => void log.push(`disable ${ids}`),
      stop: async (id) => void log.push(`stop ${id}`),
      wake: () => undefined,
    },
    stop.signal,
  )
  return { clock, log, monitor, stop }
}

const check: HealthCheck = {
  cmd: 'curl -f localhost',
  intervalMs: 1000,
  timeoutMs: 500,
  retries: 3,
  startPeriodMs: 0,
}

describe('health monitor', () => {
  it('starting until the first success, then enabled; unhealthy after `retries` failures: disabled, then stopped', async () => {
    let ok = true
    const { clock, log, monitor } = setup(() => ok)
    monitor.watch('t1', check)
    expect(monitor.state('t1')).toBe('starting')
    await clock.advance(999)
    expect(log).toEqual([])
    await clock.advance(1)
    expect(monitor.state('t1')).toBe('healthy')
    expect(log).toEqual(['exec t1 /bin/sh -c curl -f localhost', 'enable t1'])
    ok = false
    await clock.advance(2000)
    expect(monitor.state('t1')).toBe('healthy')
    await clock.advance(1000)
    expect(monitor.state('t1')).toBe('unhealthy')
    expect(log.slice(-2)).toEqual(['disable t1', 'stop t1'])
    await clock.advance(10_000)
    expect(log.filter((l) => l.startsWith('exec'))).toHaveLength(4)
  })

  it('failures in the start period do not count; a success resets the count', async () => {
    let ok = false
    const { clock, monitor } = setup(() => ok)
    monitor.watch('t1', { ...check, retries: 1, startPeriodMs: 5000 })
    await clock.advance(4000)
    expect(monitor.state('t1')).toBe('starting')
    await clock.advance(1000)
    expect(monitor.state('t1')).toBe('unhealthy')
    const b = setup(() => ok)
    b.monitor.watch('t2', { ...check, retries: 2 })
    for (const r of [false, true, false, true, false]) {
      ok = r
      await b.clock.advance(1000)
    }
    expect(b.monitor.state('t2')).toBe('healthy')
  })

  it('a task that ended by itself is not checked any more (its exit is its report)', async () => {
    const clock = new ManualClock()
    const log: string[] = []
    const m = new HealthMonitor(
      {
        clock,
        logger: silentLogger,
        exec: async (id) => {
          log.push(`exec ${id}`)
          throw new TaskNotRunningError(id, 'exited')
        },
        enable: async () => undefined,
        disable: async (ids) => void log.push(`disable ${ids}`),
        stop: async (id) => void log.push(`stop ${id}`),
        wake: () => undefined,
      },
      new AbortController().signal,
    )
    m.watch('t1', { ...check, retries: 1 })
    await clock.advance(5000)
    expect(log).toEqual(['exec t1'])
    expect(m.state('t1')).toBe('starting')
  })

  it('a check that outlives its timeout fails; forget stops the checks', async () => {
    const { clock, log, monitor } = setup(() => true)
    const slow = new HealthMonitor(
      {
        clock,
        logger: silentLogger,
        exec: (_id, _argv, o) =>
          new Promise((_, reject) => o.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
        enable: async () => undefined,
        disable: async () => undefined,
        stop: async (id) => void log.push(`stop ${id}`),
        wake: () => undefined,
      },
      new AbortController().signal,
    )
    slow.watch('s1', { ...check, retries: 1 })
    await clock.advance(1500)
    expect(slow.state('s1')).toBe('unhealthy')
    expect(log).toContain('stop s1')
    monitor.watch('t1', check)
    monitor.forget('t1')
    await clock.advance(5000)
    expect(log.filter((l) => l.startsWith('exec'))).toEqual([])
    expect(monitor.state('t1')).toBeUndefined()
  })
})
