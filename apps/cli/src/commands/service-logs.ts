/**
 * `swarmnet service logs [-f] [--tail N] [-t] [--since T] [--no-trunc] SERVICE|TASK`: the kept
 * output of every attempt (each task row the manager keeps), oldest attempt of a slot first,
 * each line prefixed like docker's (`web.1.<id>@node    | …`), with `-t` its time first. `-f` follows: it asks again every
 * {@link FOLLOW_POLL_MS} for what came after what it printed, new attempts included, until
 * interrupted.
 */
import { systemClock } from '@swarmnet/interface'
import { serviceApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { parseCount } from '../args.js'
import { call } from '../client.js'
import { CliError } from '../errors.js'
import { shortId } from '../output.js'

export const FOLLOW_POLL_MS = 300

interface Chunk {
  task: string
  name: string
  node: string
  text: string
  end?: number | undefined
  /** [position, ms]: the output had reached the position by then. */
  times?: ReadonlyArray<readonly [number, number]> | undefined
}

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 }

/**
 * `--since` as docker reads it: a duration back from now (`10m`, `1h30m`, `90s`), a Unix time
 * in seconds (`1700000000.5`), or a date/time (`2026-12-02T16:00:00Z`, `2026-12-02`). In ms.
 */
export function parseSince(value: string, now: number): number {
  const v = value.trim()
  if (DURATION.test(v)) {
    let ms = 0
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
      ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0)
    return now - ms
  }
  if (/^\d+(?:\.\d+)?$/.test(v)) return Number(v) * 1000
  const t = Date.parse(v)
  if (v === '' || Number.isNaN(t))
    throw new CliError(
      `invalid --since '${value}': expected a duration (10m, 1h30m), a Unix time or a date such as 2026-12-02T16:00:00Z`,
      2,
    )
  return t
}

export interface PrintOptions {
  readonly noTrunc: boolean
  /** Print each line's time (docker's -t). */
  readonly timestamps: boolean
  /** Leave out lines written before this (ms). */
  readonly since?: number | undefined
  /** For lines whose time is not known yet (none is: a read stamps first). */
  readonly now: () => number
}

/**
 * Prints complete lines with their task's prefix (and time); keeps a task's unfinished line
 * for later. A line's time is that of the first stamp at or past its end.
 */
export class LinePrinter {
  private readonly partial = new Map<string, string>()
  private readonly stamps = new Map<string, Array<readonly [number, number]>>()
  constructor(
    private readonly write: (line: string) => void,
    private readonly o: PrintOptions,
  ) {}

  print(c: Chunk, flush: boolean): void {
    const known = [...(this.stamps.get(c.task) ?? []), ...(c.times ?? [])].sort((a, b) => a[0] - b[0])
    this.stamps.set(c.task, known.slice(-4_096))
    const held = this.partial.get(c.task) ?? ''
    const text = held + c.text
    const lines = text.split('\n')
    const rest = lines.pop() ?? ''
    if (flush && rest !== '') lines.push(rest)
    this.partial.set(c.task, flush ? '' : rest)
    const prefix = `${c.name}.${shortId(c.task, this.o.noTrunc)}@${c.node}`
    let pos = (c.end ?? 0) - Buffer.byteLength(text)
    for (const [i, l] of lines.entries()) {
      pos += Buffer.byteLength(l) + (i < lines.length - 1 || !flush || rest === '' ? 1 : 0)
      const at = known.find(([e]) => e >= pos)?.[1] ?? this.o.now()
      if (this.o.since !== undefined && at < this.o.since) continue
      this.write(`${this.o.timestamps ? `${new Date(at).toISOString()} ` : ''}${prefix}    | ${l}`)
    }
  }
}

export function registerServiceLogs(service: Command): void {
  service
    .command('logs')
    .description('Show the output of every attempt of a service, or of one task')
    .option('-f, --follow', 'keep printing new output, of new attempts too')
    .option('-n, --tail <lines>', 'only the last N lines of each attempt', parseCount('--tail'))
    .option('--no-trunc', 'do not cut task ids')
    .option('-t, --timestamps', 'print when each line was written')
    .option('--since <time>', 'only lines written since: a duration (10m), a Unix time or a date')
    .argument('<service|task>', 'service name or id, or task id')
    .action(
      async (
        ref: string,
        o: { follow?: boolean; tail?: number; trunc: boolean; timestamps?: boolean; since?: string },
      ) => {
        const now = (): number => systemClock.now()
        const printer = new LinePrinter((l) => console.log(l), {
          noTrunc: !o.trunc,
          timestamps: o.timestamps === true,
          since: o.since === undefined ? undefined : parseSince(o.since, now()),
          now,
        })
        const ends: Record<string, number> = {}
        const first = await call(serviceApi.logs, { ref, ...(o.tail !== undefined ? { tail: o.tail } : {}) })
        for (const c of first) {
          printer.print(c, o.follow !== true)
          if (c.end !== undefined) ends[c.task] = c.end
        }
        if (o.follow !== true) return
        for (;;) {
          await systemClock.sleep(FOLLOW_POLL_MS)
          const next = await call(serviceApi.logs, { ref, from: ends, follow: true })
          for (const c of next) {
            if (c.end === undefined) continue // its node did not answer this time
            printer.print(c, false)
            ends[c.task] = c.end
          }
        }
      },
    )
}
