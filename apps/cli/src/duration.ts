/** Go-style durations for flags (`12h`, `90m`, `1h30m`, `45s`), as Docker's CLI takes them. */
import { CliError } from './errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** Milliseconds of `value`, or a usage error (exit 2) naming `what`. */
export function parseDuration(what: string): (value: string) => number {
  return (value) => {
    const parts = [...value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)]
    const whole = parts.map((p) => p[0]).join('')
    if (parts.length === 0 || whole !== value)
      throw new CliError(`invalid ${what} '${value}': expected a duration like 12h, 90m or 1h30m`, 2)
    return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] ?? 's'] ?? 0), 0))
  }
}
