import { ManualClock } from '@swarmnet/interface'
import { describe, expect, it } from 'vitest'
import { ProgressDisplay, progressLines, type ServiceSnapshot, waitConverged } from '../src/progress.js'
import { task } from './fixtures.js'

const snap = (tasks: ServiceSnapshot['tasks'], desired = 3): ServiceSnapshot => ({
  id: 'svc1',
  mode: 'replicated',
  desired,
  tasks,
})

describe('progress lines', () => {
  it('overall count, one line per slot with the newest task state and a bar', () => {
    const p = progressLines(
      snap([
        task({ id: 'a', slot: 1, state: 'running' }),
        task({ id: 'b', slot: 2, state: 'preparing' }),
        task({
          id: 'c',
          slot: 3,
          state: 'failed',
          desiredState: 'shutdown',
          error: 'task: non-zero exit (1)',
        }),
      ]),
    )
    expect(p.converged).toBe(false)
    expect(p.lines[0]).toBe('overall progress: 1 out of 3 tasks')
    expect(p.lines[1]).toBe(`1/3: running   [${'='.repeat(49)}>]`)
    expect(p.lines[2]).toMatch(/^2\/3: preparing \[=+> +\]$/)
    expect(p.lines[3]).toBe('3/3: task: non-zero exit (1)')
  })

  it('a failed attempt replaced by a running one: the slot shows the live task', () => {
    const p = progressLines(
      snap(
        [
          task({ id: 'new', slot: 1, state: 'running' }),
          task({ id: 'old', slot: 1, state: 'failed', desiredState: 'shutdown', error: 'x' }),
        ],
        1,
      ),
    )
    expect(p.converged).toBe(true)
    expect(p.lines).toEqual(['overall progress: 1 out of 1 tasks', `1/1: running   [${'='.repeat(49)}>]`])
  })

  it('global services: one line per node', () => {
    const p = progressLines({
      id: 's',
      mode: 'global',
      desired: 2,
      tasks: [task({ nodeId: 'node2xxxxxxxxxxx', state: 'starting' }), task({ nodeId: 'node1xxxxxxxxxxx' })],
    })
    expect(p.lines.slice(1).map((l) => l.split(':')[0])).toEqual(['node1xxxxxxx', 'node2xxxxxxx'])
    expect(p.converged).toBe(false)
  })
})

describe('ProgressDisplay', () => {
  it('prints changed lines only when not on a terminal, redraws in place on one', () => {
    const plain: string[] = []
    const d = new ProgressDisplay({ isTTY: false, write: (t) => plain.push(t) })
    d.draw(['a', 'b'])
    d.draw(['a', 'c'])
    expect(plain).toEqual(['a\n', 'b\n', 'c\n'])
    const tty: string[] = []
    const t = new ProgressDisplay({ isTTY: true, write: (x) => tty.push(x) })
    t.draw(['a', 'b'])
    t.draw(['a', 'b'])
    t.draw(['a', 'c'])
    t.draw(['a'])
    expect(tty).toEqual([
      '\x1b[2Ka\n\x1b[2Kb\n',
      '\x1b[2A\x1b[0J\x1b[2Ka\n\x1b[2Kc\n',
      '\x1b[2A\x1b[0J\x1b[2Ka\n', // a shorter block leaves nothing of the longer one
    ])
  })
})

describe('waitConverged', () => {
  it('returns once every task has run for the stable period, and starts over when one changes', async () => {
    const clock = new ManualClock(0)
    const states: ServiceSnapshot[] = [
      snap([task({ id: 'a', state: 'starting' })], 1),
      snap([task({ id: 'a' })], 1),
      snap([task({ id: 'b' })], 1), // replaced: the stable period starts again
      snap([task({ id: 'b' })], 1),
    ]
    let i = 0
    const out: string[] = []
    let done = false
    const p = waitConverged(
      {
        clock,
        observe: async () => states[Math.min(i++, states.length - 1)] as ServiceSnapshot,
        out: { isTTY: false, write: (t) => out.push(t) },
      },
      { stableMs: 1_000, pollMs: 250 },
    ).then(() => {
      done = true
    })
    for (let step = 0; step < 20 && !done; step++) await clock.advance(250)
    await p
    expect(clock.now()).toBe(1_000 + 500)
    expect(out.join('')).toContain('verify: Waiting 1 seconds to verify that tasks are stable...')
    expect(out.at(-1)).toBe('verify: Service svc1 converged\n')
  })

  it('stops when aborted', async () => {
    const ac = new AbortController()
    ac.abort(new Error('interrupted'))
    await expect(
      waitConverged(
        { clock: new ManualClock(0), observe: async () => snap([], 1) },
        {},
        { signal: ac.signal },
      ),
    ).rejects.toThrow('interrupted')
  })
})
