import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, systemClock } from '@swarmnet/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LogFiles, logFiles, readLog, removeLog, rotateLog, stampLog } from '../src/logs.js'
import { OutputStamper } from '../src/stamper.js'

const silent: Logger = {
  component: 'test',
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silent,
}

let dir: string
let f: LogFiles
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmnet-logs-'))
  f = logFiles(join(dir, 't1.log'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('a task output kept and rotated by size', () => {
  it('reads everything, the last lines, or what came after a position', async () => {
    expect(await readLog(f)).toEqual({ text: '', end: 0, stamps: [] })
    await writeFile(f.current, 'a\nb\nc\n')
    expect(await readLog(f)).toEqual({ text: 'a\nb\nc\n', end: 6, stamps: [] })
    expect(await readLog(f, { tail: 2 })).toEqual({ text: 'b\nc\n', end: 6, stamps: [] })
    expect(await readLog(f, { from: 4 })).toEqual({ text: 'c\n', end: 6, stamps: [] })
    expect(await readLog(f, { from: 6 })).toEqual({ text: '', end: 6, stamps: [] })
    expect(await readLog(f, { maxBytes: 3 })).toEqual({ text: 'b\nc\n'.slice(1), end: 6, stamps: [] })
  })

  it('rotates past the size, keeps one older file, and positions stay valid across rotations', async () => {
    await writeFile(f.current, '0123456789\n')
    expect(await rotateLog(f, 100)).toBe(false)
    expect(await rotateLog(f, 5)).toBe(true)
    expect(await readFile(f.current, 'utf8')).toBe('')
    expect(await readFile(f.rotated, 'utf8')).toBe('0123456789\n')
    await appendFile(f.current, 'second\n')
    expect(await readLog(f)).toEqual({ text: '0123456789\nsecond\n', end: 18, stamps: [] })
    expect(await readLog(f, { from: 11 })).toEqual({ text: 'second\n', end: 18, stamps: [] })
    // a second rotation drops the first file; what came after a follower's position is still there
    await appendFile(f.current, 'third\n')
    expect(await rotateLog(f, 5)).toBe(true)
    await appendFile(f.current, 'fourth\n')
    expect(await readLog(f)).toEqual({ text: 'second\nthird\nfourth\n', end: 31, stamps: [] })
    expect(await readLog(f, { from: 18 })).toEqual({ text: 'third\nfourth\n', end: 31, stamps: [] })
    // a position older than what is kept reads from the oldest kept byte
    expect(await readLog(f, { from: 3 })).toEqual({ text: 'second\nthird\nfourth\n', end: 31, stamps: [] })
  })

  it('a writer holding the file open (O_APPEND) goes on writing at the start after a rotation', async () => {
    const { open } = await import('node:fs/promises')
    const fd = await open(f.current, 'a')
    await fd.write('aaaaaaaaaa\n')
    await rotateLog(f, 5)
    await fd.write('b\n')
    await fd.close()
    expect(await readFile(f.current, 'utf8')).toBe('b\n')
    expect((await readLog(f)).text).toBe('aaaaaaaaaa\nb\n')
  })

  it('stamps when the output grew, returns those past the text read, drops them with a rotation', async () => {
    await writeFile(f.current, 'a\n')
    expect(await stampLog(f, 1_000, -1)).toBe(2)
    expect(await stampLog(f, 1_500, 2)).toBe(2) // nothing new: no stamp
    await appendFile(f.current, 'bb\n')
    await stampLog(f, 2_000, 2)
    expect((await readLog(f)).stamps).toEqual([
      [2, 1_000],
      [5, 2_000],
    ])
    expect((await readLog(f, { from: 2 })).stamps).toEqual([[5, 2_000]])
    expect((await readLog(f, { tail: 1 })).stamps).toEqual([[5, 2_000]])
    await rotateLog(f, 1) // everything moves to .log.1: nothing dropped yet
    await appendFile(f.current, 'c\n')
    await stampLog(f, 3_000, 5)
    await rotateLog(f, 1) // "a\nbb\n" dropped, and its stamps
    expect((await readLog(f)).stamps).toEqual([[7, 3_000]])
  })

  it('the stamper watches the directory and stamps a log that grows', async () => {
    const stamper = new OutputStamper({ clock: systemClock, logger: silent }, (id) =>
      logFiles(join(dir, `${id}.log`)),
    )
    const ac = new AbortController()
    const watching = stamper.watch(dir, { signal: ac.signal })
    try {
      const before = Date.now()
      // the watch starts asynchronously: write until a stamp shows up
      let stamps: ReadonlyArray<readonly [number, number]> = []
      for (let i = 0; i < 100 && stamps.length === 0; i++) {
        await appendFile(f.current, `line ${i}\n`)
        await new Promise((r) => setTimeout(r, 50))
        stamps = (await readFile(f.stamps, 'utf8').catch(() => ''))
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split(' ').map(Number) as [number, number])
      }
      expect(stamps.length).toBeGreaterThan(0)
      const [end, at] = stamps[0] ?? [0, 0]
      expect(end).toBeGreaterThan(0)
      expect(at).toBeGreaterThanOrEqual(before)
      expect(at).toBeLessThanOrEqual(Date.now())
    } finally {
      ac.abort()
      await watching
    }
  })

  it('removeLog deletes every file', async () => {
    await writeFile(f.current, 'x'.repeat(10))
    await rotateLog(f, 5)
    await removeLog(f)
    expect(await readLog(f)).toEqual({ text: '', end: 0, stamps: [] })
  })
})
