import { describe, expect, it } from 'vitest'
import { CorruptStateError } from '../src/errors.js'
import { parseStat } from '../src/procfs.js'
import { tailLines } from '../src/runtime.js'
import { parseExitFile, parseRecord, type TaskRecord, taskIdOfFile, taskPaths } from '../src/state.js'

const record: TaskRecord = {
  version: 1,
  id: 't1',
  netns: 'sn-ep-1',
  argv: ['sleep', '300'],
  env: { A: 'b' },
  hostname: 't1',
  createdAt: 1700000000000,
  pid: 123,
  startTime: 456,
  initPid: 125,
  initStartTime: 457,
}

describe('task record', () => {
  it('round-trips through JSON', () => {
    expect(parseRecord(JSON.stringify(record))).toEqual(record)
  })

  it('keeps a record written before the spawn (no pid yet)', () => {
    const { pid, startTime, initPid, initStartTime, ...base } = record
    expect(parseRecord(JSON.stringify(base))).toEqual(base)
  })

  it.each([
    ['not JSON', '{"version":1,'],
    ['an array', '[]'],
    ['another version', JSON.stringify({ ...record, version: 2 })],
    ['argv not strings', JSON.stringify({ ...record, argv: [1] })],
    ['env not strings', JSON.stringify({ ...record, env: { A: 1 } })],
    ['a bad pid', JSON.stringify({ ...record, pid: -1 })],
    ['no id', JSON.stringify({ ...record, id: '' })],
  ])('rejects %s with CorruptStateError', (_, text) => {
    expect(() => parseRecord(text, '/x/t1.json')).toThrow(CorruptStateError)
    try {
      parseRecord(text, '/x/t1.json')
    } catch (err) {
      expect((err as CorruptStateError).code).toBe('ERR_CORRUPT_STATE')
      expect((err as CorruptStateError).path).toBe('/x/t1.json')
    }
  })

  it('names its files after the task id', () => {
    expect(taskPaths('/s', '/l', 't1')).toEqual({
      record: '/s/t1.json',
      exit: '/s/t1.exit',
      log: '/l/t1.log',
      resolv: '/s/t1.resolv.conf',
    })
    expect(taskIdOfFile('t1.json')).toBe('t1')
    expect(taskIdOfFile('t1.exit')).toBeUndefined()
    expect(taskIdOfFile('t1.json.ab12.tmp')).toBeUndefined()
  })
})

describe('exit file', () => {
  it('is a complete decimal line 0-255', () => {
    expect(parseExitFile('0\n')).toBe(0)
    expect(parseExitFile('137\n')).toBe(137)
    expect(parseExitFile('')).toBeUndefined() // being written
    expect(parseExitFile('13')).toBeUndefined() // being written
    expect(parseExitFile('256\n')).toBeUndefined()
    expect(parseExitFile('x\n')).toBeUndefined()
  })
})

describe('/proc/PID/stat', () => {
  it('counts fields from the last parenthesis (comm may hold spaces and parens)', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3))
    fields[0] = 'S'
    fields[1] = '10' // ppid
    fields[2] = '11' // pgrp
    fields[19] = '987654' // starttime, field 22
    const text = `4242 (a) b (c)) ${fields.join(' ')}\n`
    expect(parseStat(text)).toEqual({ pid: 4242, state: 'S', ppid: 10, pgrp: 11, startTime: 987654 })
  })

  it('rejects garbage', () => {
    expect(parseStat('')).toBeUndefined()
    expect(parseStat('12 (x) S')).toBeUndefined()
  })
})

describe('tailLines', () => {
  it('keeps the last n lines and the final newline', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n')
    expect(tailLines('a\nb\nc', 2)).toBe('b\nc')
    expect(tailLines('a\n', 5)).toBe('a\n')
    expect(tailLines('a\nb\n', 0)).toBe('')
    expect(tailLines('', 3)).toBe('')
  })
})
