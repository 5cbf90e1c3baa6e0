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
  attachments: [],
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
    networks.holdPrepare() // the first launch stays in its sandbox step
    dispatcher.answerWith([web('t1')])
    agent.start()
    await settle()
    expect(networks.preparing).toEqual(['t1'])

    // tick 2: the report is built while t1 is still preparing; the answer is held back
    dispatcher.holdNext()
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.calls).toBe(2)
    // the launch finishes during the round trip
    networks.releasePrepare()
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

  it('starts the tasks of one sync as one burst, and reports them as they go', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    dispatcher.answerWith([web('a'), web('b'), web('c')])
    runtime.startGate.close()
    agent.start()
    await settle()
    expect(networks.bursts).toEqual([['a', 'b', 'c']])
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.lastReports()).toEqual([
      { id: 'a', state: 'starting' },
      { id: 'b', state: 'starting' },
      { id: 'c', state: 'starting' },
    ])
    expect(dispatcher.helds.at(-1)).toEqual(['a', 'b', 'c'])
    runtime.startGate.open()
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.lastReports().map((r) => r.state)).toEqual(['running', 'running', 'running'])
    // each task's reported state changed twice (starting, then running): six transitions
    expect(agent.counters).toEqual({
      started: 3,
      rejected: 0,
      failed: 0,
      transitions: { starting: 3, running: 3 },
    })
    await clock.advance(SYNC_PERIOD_MS)
    expect(agent.counters.transitions).toEqual({ starting: 3, running: 3 })
  })

  it('a task stopped before it started here is reported shut down, never started', async () => {
    const { clock, runtime, dispatcher, agent } = setup()
    dispatcher.answerWith([web('t1', 'shutdown')])
    agent.start()
    await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.starts).toEqual([])
    expect(dispatcher.lastReports()).toEqual([{ id: 't1', state: 'shutdown' }])
  })

  it('a failed start is rejected once and undoes only what it made', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    runtime.failStart = new Error('exec: no such file')
    networks.sandboxes.add('old') // a sandbox from before: not this attempt's
    dispatcher.answerWith([web('t1'), web('old')])
    agent.start()
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.lastReports()).toEqual([
      { id: 't1', state: 'rejected', error: 'exec: no such file' },
      { id: 'old', state: 'rejected', error: 'exec: no such file' },
    ])
    expect(runtime.tasks.size).toBe(0)
    // t1's sandbox was made by the attempt and went with it; 'old' goes once it is not running
    expect([...networks.sandboxes]).toEqual([])
    expect(agent.counters.rejected).toBe(2)
    await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.starts).toEqual([])
    expect(agent.counters.rejected).toBe(2)
  })

  it('a sandbox the kernel refuses fails its own task only; the rest of the burst starts', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    networks.refuse.set('b', 'RTNETLINK answers: File exists')
    dispatcher.answerWith([web('a'), web('b'), web('c')])
    agent.start()
    await settle()
    expect(networks.bursts).toEqual([['a', 'b', 'c']])
    await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.starts.sort()).toEqual(['a', 'c'])
    expect([...dispatcher.lastReports()].sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', state: 'running' },
      { id: 'b', state: 'rejected', error: 'sandbox: RTNETLINK answers: File exists' },
      { id: 'c', state: 'running' },
    ])
    expect(agent.counters).toMatchObject({ started: 2, rejected: 1 })
  })

  it('stops what is shut down, frees the sandbox of what stopped, removes what is unassigned', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    dispatcher.answerWith([web('a'), web('b')])
    agent.start()
    await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.running()).toEqual(['a', 'b'])
    // graceful: a's entries are disabled (out of every LB and DNS) while it still runs
    let runningAtDisable: string[] = []
    networks.onDisable = () => {
      runningAtDisable = runtime.running()
    }
    dispatcher.answerWith([web('a', 'shutdown'), web('b')])
    await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.running()).toEqual(['b'])
    expect([...networks.sandboxes]).toEqual(['b'])
    expect(networks.events).toEqual(['enable:a', 'enable:b', 'disable:a', 'release:a'])
    expect(runningAtDisable).toEqual(['a', 'b'])
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.lastReports()).toEqual([
      { id: 'a', state: 'shutdown', exitCode: 143 },
      { id: 'b', state: 'running' },
    ])
    expect(dispatcher.helds.at(-1)).toEqual(['a', 'b']) // a's state and logs are kept
    dispatcher.answerWith([web('b')])
    await clock.advance(SYNC_PERIOD_MS)
    expect([...runtime.tasks.keys()]).toEqual(['b'])
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.helds.at(-1)).toEqual(['b'])
    expect(agent.counters).toMatchObject({ started: 2, rejected: 0, failed: 0 })
    expect(agent.counters.transitions).toEqual({ running: 2, shutdown: 1 })
  })

  it('adopts tasks that run already (agent restart) without starting them again', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    runtime.tasks.set('t1', { state: 'running' })
    networks.sandboxes.add('t1')
    dispatcher.answerWith([web('t1')])
    agent.start()
    await clock.advance(SYNC_PERIOD_MS)
    await clock.advance(SYNC_PERIOD_MS)
    expect(runtime.starts).toEqual([])
    expect(dispatcher.lastReports()).toEqual([{ id: 't1', state: 'running' }])
    expect([...networks.sandboxes]).toEqual(['t1'])
  })

  it('counts a task that exits non-zero as failed once', async () => {
    const { clock, runtime, dispatcher, agent } = setup()
    dispatcher.answerWith([web('t1')])
    agent.start()
    await clock.advance(SYNC_PERIOD_MS)
    runtime.exit('t1', 3)
    await clock.advance(SYNC_PERIOD_MS)
    await clock.advance(SYNC_PERIOD_MS)
    expect(dispatcher.lastReports()).toEqual([
      { id: 't1', state: 'failed', exitCode: 3, error: 'task: non-zero exit (3)' },
    ])
    expect(agent.counters.failed).toBe(1)
  })

  it('a launch finishing while the runtime is listed is reported running, not lost', async () => {
    const { clock, runtime, networks, dispatcher, agent } = setup()
    networks.holdPrepare()
    dispatcher.answerWith([web('t1')])
    agent.start()
    await settle()
    runtime.listGate.close() // tick 2 lists the runtime before t1 exists, and is held there
    await clock.advance(SYNC_PERIOD_MS)
    networks.releasePrepare()
    await settle()
    expect(runtime.running()).toEqual(['t1'])
    runtime.listGate.open()
    await settle()
    expect(dispatcher.lastReports()).toEqual([{ id: 't1', state: 'running' }])
    expect([...networks.sandboxes]).toEqual(['t1'])
    expect(agent.counters).toMatchObject({ started: 1, rejected: 0, failed: 0 })
  })

  it('a task listed while still spawning and started since is reported running, not lost', async () => {
    const { clock, runtime, dispatcher, agent } = setup()
    runtime.startGate.close()
    dispatcher.answerWith([web('t1')])
    agent.start()
    await settle()
    runtime.listGate.close() // tick 2 lists t1 without a pid yet, and is held there
    await clock.advance(SYNC_PERIOD_MS)
    runtime.startGate.open()
    await settle()
    runtime.listGate.open()
    await settle()
    expect(dispatcher.lastReports()).toEqual([{ id: 't1', state: 'running' }])
    expect(agent.counters).toMatchObject({ started: 1, rejected: 0, failed: 0 })
  })
})
