// The runtime against hand-made state (no root, no namespaces): adoption of records, the
// exit file, corrupt files, validation. The real-kernel behaviour is in test/netns/runtime.test.ts.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Clock, Logger } from '@swarmnet/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createRuntime,
  InvalidTaskError,
  NetnsNotFoundError,
  type Runtime,
  TaskNotFoundError,
  TaskNotRunningError,
} from '../src/index.js'
import { readStat } from '../src/procfs.js'

const warnings: string[] = []
const logger: Logger = {
  component: 'test',
  debug() {},
  info() {},
  warn: (msg) => void warnings.push(msg),
  error() {},
  child: () => logger,
}

/** A clock whose sleep advances time instantly and counts the calls. */
function fakeClock(): Clock & { sleeps: number } {
  let now = 1_700_000_000_000
  const clock = {
    sleeps: 0,
    now: () => now,
    async sleep(ms: number) {
      clock.sleeps++
      now += ms
    },
  }
  return clock
}

describe('runtime over hand-made state', () => {
  let dir: string
  let stateDir: string
  let logDir: string
  let rt: Runtime
  let clock: ReturnType<typeof fakeClock>

  const base = { version: 1, netns: 'sn-ep-1', argv: ['sleep', '300'], env: { A: 'b' }, createdAt: 1 }
  const writeRecord = (id: string, extra: object) =>
    writeFile(join(stateDir, `${id}.json`), JSON.stringify({ ...base, id, hostname: id, ...extra }))

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sn-runtime-unit-'))
    stateDir = join(dir, 'state')
    logDir = join(dir, 'log')
    await mkdir(stateDir)
    await mkdir(logDir)
    clock = fakeClock()
    rt = createRuntime({ logger, clock }, { stateDir, logDir })
    warnings.length = 0
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('knows nothing of a task without state; stop and remove are no-ops', async () => {
    expect(await rt.status('nope')).toEqual({ state: 'unknown' })
    expect(await rt.stop('nope')).toEqual({ state: 'unknown' })
    await rt.remove('nope')
    await expect(rt.logs('nope')).rejects.toBeInstanceOf(TaskNotFoundError)
    await expect(rt.wait('nope')).rejects.toBeInstanceOf(TaskNotFoundError)
    await expect(rt.exec('nope', ['true'])).rejects.toBeInstanceOf(TaskNotFoundError)
    expect(await rt.list()).toEqual([])
  })

  it('refuses ids that are not file names', async () => {
    await expect(rt.status('../x')).rejects.toBeInstanceOf(InvalidTaskError)
    await expect(rt.start({ id: 'a/b', netns: 'x', argv: ['true'], env: {} })).rejects.toMatchObject({
      code: 'ERR_INVALID_TASK',
    })
  })

  it('refuses a netns that does not exist, leaving no state', async () => {
    await expect(
      rt.start({ id: 't1', netns: 'sn-rt-does-not-exist', argv: ['true'], env: {} }),
    ).rejects.toBeInstanceOf(NetnsNotFoundError)
    expect(await rt.list()).toEqual([])
  })

  it('adopts a live supervisor (pid + start time match) as running', async () => {
    const me = await readStat(process.pid)
    await writeRecord('live', { pid: process.pid, startTime: me?.startTime })
    expect((await rt.status('live')).state).toBe('running')
    expect(await rt.list()).toMatchObject([{ id: 'live', state: 'running', netns: 'sn-ep-1' }])
  })

  it('does not mistake a reused pid for the task (start time differs)', async () => {
    const me = await readStat(process.pid)
    await writeRecord('reused', { pid: process.pid, startTime: (me?.startTime ?? 0) + 1 })
    expect(await rt.status('reused')).toEqual({ state: 'exited' })
    await expect(rt.exec('reused', ['true'])).rejects.toBeInstanceOf(TaskNotRunningError)
  })

  it('reads the exit code the supervisor left, and wait returns it', async () => {
    await writeRecord('done', { pid: 999_999, startTime: 1 })
    await writeFile(join(stateDir, 'done.exit'), '3\n')
    expect(await rt.status('done')).toEqual({ state: 'exited', exitCode: 3 })
    expect(await rt.wait('done')).toEqual({ state: 'exited', exitCode: 3 })
    expect(await rt.stop('done')).toEqual({ state: 'exited', exitCode: 3 })
  })

  it('wait polls with the injected clock until the exit file appears', async () => {
    const me = await readStat(process.pid)
    await writeRecord('w', { pid: process.pid, startTime: me?.startTime })
    const sleep = clock.sleep.bind(clock)
    clock.sleep = async (ms) => {
      await sleep(ms)
      if (clock.sleeps === 3) await writeFile(join(stateDir, 'w.exit'), '0\n')
    }
    expect(await rt.wait('w')).toEqual({ state: 'exited', exitCode: 0 })
    expect(clock.sleeps).toBe(3)
  })

  it('a record without a pid (agent died while spawning) is unknown', async () => {
    await writeRecord('half', {})
    expect(await rt.status('half')).toEqual({ state: 'unknown' })
  })

  it('skips corrupt records in list with a warning, and remove deletes them', async () => {
    await writeFile(join(stateDir, 'bad.json'), '{"version":1,')
    await writeRecord('good', { pid: 999_999, startTime: 1 })
    await writeFile(join(stateDir, 'good.exit'), '0\n')
    expect((await rt.list()).map((t) => t.id)).toEqual(['good'])
    expect(warnings).toContain('skipping a corrupt task record')
    await rt.remove('bad')
    await rt.remove('good')
    await expect(readFile(join(stateDir, 'bad.json'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await rt.list()).toEqual([])
  })

  it('logs returns the file, or its last lines', async () => {
    await writeRecord('l', { pid: 999_999, startTime: 1 })
    await writeFile(join(logDir, 'l.log'), 'one\ntwo\nthree\n')
    expect(await rt.logs('l')).toBe('one\ntwo\nthree\n')
    expect(await rt.logs('l', { tail: 1 })).toBe('three\n')
  })
})
