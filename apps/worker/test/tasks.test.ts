/**
 * The task agent's sync loop against a fake dispatcher, runtime and network controller on a
 * manual clock: a task is started once, whatever completes during a dispatcher round trip.
 */
import { ManualClock, settle } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import type { Assignment, TaskReport } from '@swarmnet/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { SYNC_PERIOD_MS, TaskAgent } from '../src/tasks.js'
import { FakeNetworks, FakeRuntime, ScriptedDispatcher } from './fakes.js'

const web = (id: string, desiredState: Assignment['desiredState'] = 'running'): Assignment => ({
  id,
  serviceId: 's1',
  serviceName: 'web',
  slot: 1,
  desiredState,
  argv: ['whoami'],
  env: {},
  networks: ['n1'],
})

describe('task agent', () => {
  let agent: TaskAgent | undefined
  afterEach(async () => {
    await agent?.stop()
    agent = undefined
  })

  function setup() {
    const clock = new ManualClock()
    const runtime = new FakeRuntime()
    const networks = new FakeNetworks()
    const dispatcher = new ScriptedDispatcher()
    agent = new TaskAgent({ logger: silentLogger, clock, runtime, networks, dispatcher, hostname: 'h1' })
    return { clock, runtime, networks, dispatcher, agent }
  }

  it('starts a task once when its launch completes during the dispatcher round trip', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    networks.holdAttach() // the first launch stays in its sandbox step
    dispatcher.answerWith([web('t1')])
    agent.start()
    await settle()
    expect(networks.attaching).toEqual(['t1'])

    // tick 2: the report is built while t1 is still preparing; the answer is held back
    dispatcher.holdNext()
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.calls).toBe(2)
    // the launch finishes during the round trip
    networks.releaseAttach()
    await settle()
    expect(runtime.running()).toEqual(['t1'])
    dispatcher.releaseHeld()
    await settle()

    // more ticks: nothing is started again, nothing is rejected, t1 still runs
    for (let i = 0; i < 3; i++) await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.starts).toEqual(['t1'])
    expect(runtime.running()).toEqual(['t1'])
    const rejected = dispatcher.reports.filter(
      (r: TaskReport) => r.state === 'rejected' || r.state === 'failed',
    )
    expect(rejected).toEqual([])
    expect(dispatcher.lastReports()).toEqual([{ id: 't1', state: 'running' }])
  })
})
