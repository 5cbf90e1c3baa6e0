import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LogFiles, logFiles, readLog, removeLog, rotateLog } from '../src/logs.js'

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
    expect(await readLog(f)).toEqual({ text: '', end: 0 })
    await writeFile(f.current, 'a\nb\nc\n')
    expect(await readLog(f)).toEqual({ text: 'a\nb\nc\n', end: 6 })
    expect(await readLog(f, { tail: 2 })).toEqual({ text: 'b\nc\n', end: 6 })
    expect(await readLog(f, { from: 4 })).toEqual({ text: 'c\n', end: 6 })
    expect(await readLog(f, { from: 6 })).toEqual({ text: '', end: 6 })
    expect(await readLog(f, { maxBytes: 3 })).toEqual({ text: 'b\nc\n'.slice(1), end: 6 })
  })

  it('rotates past the size, keeps one older file, and positions stay valid across rotations', async () => {
    await writeFile(f.current, '0123456789\n')
    expect(await rotateLog(f, 100)).toBe(false)
    expect(await rotateLog(f, 5)).toBe(true)
    expect(await readFile(f.current, 'utf8')).toBe('')
    expect(await readFile(f.rotated, 'utf8')).toBe('0123456789\n')
    await appendFile(f.current, 'second\n')
    expect(await readLog(f)).toEqual({ text: '0123456789\nsecond\n', end: 18 })
    expect(await readLog(f, { from: 11 })).toEqual({ text: 'second\n', end: 18 })
    // a second rotation drops the first file; what came after a follower's position is still there
    await appendFile(f.current, 'third\n')
    expect(await rotateLog(f, 5)).toBe(true)
    await appendFile(f.current, 'fourth\n')
    expect(await readLog(f)).toEqual({ text: 'second\nthird\nfourth\n', end: 31 })
    expect(await readLog(f, { from: 18 })).toEqual({ text: 'third\nfourth\n', end: 31 })
    // a position older than what is kept reads from the oldest kept byte
    expect(await readLog(f, { from: 3 })).toEqual({ text: 'second\nthird\nfourth\n', end: 31 })
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

  it('removeLog deletes every file', async () => {
    await writeFile(f.current, 'x'.repeat(10))
    await rotateLog(f, 5)
    await removeLog(f)
    expect(await readLog(f)).toEqual({ text: '', end: 0 })
  })
})
