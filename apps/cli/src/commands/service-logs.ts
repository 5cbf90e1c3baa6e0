/**
 * `swarmnet service logs [-f] [--tail N] [--no-trunc] SERVICE|TASK`: the kept output of every
 * attempt (each task row the manager keeps), oldest attempt of a slot first, each line
 * prefixed like docker's (`web.1.<id>@node    | …`). `-f` follows: it asks again every
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
}

/** Prints complete lines with their task's prefix; keeps a task's unfinished line for later. */
export class LinePrinter {
  private readonly partial = new Map<string, string>()
  constructor(
    private readonly write: (line: string) => void,
    private readonly noTrunc: boolean,
  ) {}

  print(c: Chunk, flush: boolean): void {
    const text = (this.partial.get(c.task) ?? '') + c.text
    const lines = text.split('\n')
    const rest = lines.pop() ?? ''
    if (flush && rest !== '') lines.push(rest)
    this.partial.set(c.task, flush ? '' : rest)
    const prefix = `${c.name}.${shortId(c.task, this.noTrunc)}@${c.node}`
    for (const l of lines) this.write(`${prefix}    | ${l}`)
  }
}

export function registerServiceLogs(service: Command): void {
  service
    .command('logs')
    .description('Show the output of every attempt of a service, or of one task')
    .option('-f, --follow', 'keep printing new output, of new attempts too')
    .option('-n, --tail <lines>', 'only the last N lines of each attempt', parseCount('--tail'))
    .option('--no-trunc', 'do not cut task ids')
    .option('-t, --timestamps', '(not supported yet)')
    .option('--since <time>', '(not supported yet)')
    .argument('<service|task>', 'service name or id, or task id')
    .action(
      async (
        ref: string,
        o: { follow?: boolean; tail?: number; trunc: boolean; timestamps?: boolean; since?: string },
      ) => {
        if (o.timestamps === true || o.since !== undefined)
          throw new CliError(
            `${o.since !== undefined ? '--since' : '--timestamps'} is not supported yet: swarmnet does not record when each line was written`,
            2,
          )
        const printer = new LinePrinter((l) => console.log(l), !o.trunc)
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
