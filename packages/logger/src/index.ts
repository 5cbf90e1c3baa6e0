/**
 * @packageDocumentation
 * The one structured logger: JSON lines to a writable stream (stderr by default),
 * filtered by level. Fields are never secrets: callers pass ids and addresses only.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'info' }).child('dataplane')
 * log.info('applied plan', { steps: 3 })
 * ```
 */
import type { LogFields, Logger } from '@swarmnet/interface'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

export interface LoggerInit {
  /** @default 'swarmnet' */
  component?: string
  /** @default process.env.SWARMNET_LOG_LEVEL ?? 'info' — read by the app, passed here */
  level?: LogLevel
  /** Where JSON lines go. @default process.stderr */
  sink?: { write(line: string): unknown }
  /** Time source for the `t` field. @default Date.now */
  now?: () => number
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export function createLogger(init: LoggerInit = {}): Logger {
  const level = rank[init.level ?? 'info']
  const sink = init.sink ?? process.stderr
  const now = init.now ?? Date.now
  const make = (component: string): Logger => {
    const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
      if (rank[lvl] < level) return
      const line = { t: new Date(now()).toISOString(), level: lvl, c: component, msg, ...serialise(fields) }
      sink.write(`${JSON.stringify(line)}\n`)
    }
    return {
      component,
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (name) => make(`${component}:${name}`),
    }
  }
  return make(init.component ?? 'swarmnet')
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger({ level: 'silent' })

function serialise(fields?: LogFields): LogFields {
  if (fields === undefined) return {}
  const out: LogFields = {}
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : v
  }
  return out
}
