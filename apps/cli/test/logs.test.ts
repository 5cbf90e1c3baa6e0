import { describe, expect, it } from 'vitest'
import { LinePrinter, parseSince } from '../src/commands/service-logs.js'
import { CliError } from '../src/errors.js'

const NOW = Date.parse('2026-12-02T16:00:00.000Z')

describe('--since', () => {
  it.each([
    ['10m', NOW - 600_000],
    ['1h30m', NOW - 5_400_000],
    ['1.5s', NOW - 1_500],
    ['250ms', NOW - 250],
    ['1700000000', 1_700_000_000_000],
    ['1700000000.5', 1_700_000_000_500],
    ['2026-12-02T15:00:00Z', NOW - 3_600_000],
    ['2026-12-02T15:00:00.250Z', NOW - 3_599_750],
  ])('%s', (v, want) => {
    expect(parseSince(v, NOW)).toBe(want)
  })

  it.each(['', 'yesterday', '10 minutes', '-5m'])('refuses %j (exit 2)', (v) => {
    let err: unknown
    try {
      parseSince(v, NOW)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(CliError)
    expect((err as CliError).exitCode).toBe(2)
  })
})

describe('LinePrinter', () => {
  const chunk = { task: 'abcdefghijklmnop', name: 'web.1', node: 'host-1' }

  it("prefixes lines docker's way and holds an unfinished line until it ends", () => {
    const out: string[] = []
    const p = new LinePrinter((l) => out.push(l), { noTrunc: false, timestamps: false, now: () => NOW })
    p.print({ ...chunk, text: 'one\ntw', end: 6 }, false)
    p.print({ ...chunk, text: 'o\nthree', end: 14 }, false)
    expect(out).toEqual(['web.1.abcdefghijkl@host-1    | one', 'web.1.abcdefghijkl@host-1    | two'])
    p.print({ ...chunk, text: '', end: 14 }, true)
    expect(out.at(-1)).toBe('web.1.abcdefghijkl@host-1    | three')
  })

  it('gives each line the time of the first stamp at or past its end; --since leaves older lines out', () => {
    const out: string[] = []
    const t = (s: number): number => NOW + s * 1000
    const times: Array<[number, number]> = [
      [4, t(1)], // "one\n" ends at 4
      [12, t(5)], // "two\nthree\n" end at 8 and 14 (the last after this stamp)
      [14, t(9)],
    ]
    const p = new LinePrinter((l) => out.push(l), {
      noTrunc: true,
      timestamps: true,
      since: t(2),
      now: () => NOW,
    })
    p.print({ ...chunk, text: 'one\ntwo\nthree\n', end: 14, times }, true)
    expect(out).toEqual([
      `${new Date(t(5)).toISOString()} web.1.abcdefghijklmnop@host-1    | two`,
      `${new Date(t(9)).toISOString()} web.1.abcdefghijklmnop@host-1    | three`,
    ])
  })

  it('positions count bytes, not characters, and a tail starts mid-output', () => {
    const out: string[] = []
    const p = new LinePrinter((l) => out.push(l), { noTrunc: false, timestamps: true, now: () => NOW })
    // 100 bytes came before; "é\n" is 3 bytes (ends at 103), "x\n" ends at 105
    p.print(
      {
        ...chunk,
        text: 'é\nx\n',
        end: 105,
        times: [
          [103, NOW + 1],
          [105, NOW + 2],
        ],
      },
      true,
    )
    expect(out.map((l) => l.split(' ')[0])).toEqual([
      new Date(NOW + 1).toISOString(),
      new Date(NOW + 2).toISOString(),
    ])
  })
})
