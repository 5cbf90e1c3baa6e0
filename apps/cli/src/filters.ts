/**
 * `--filter key=value` as docker/cli reads it: repeatable; values of one key are OR-ed,
 * different keys AND-ed. Each list names the keys it knows; any other key, or a filter
 * without `=`, is a usage error (exit 2) raised before the agent is asked anything.
 */
import { CliError } from './errors.js'

/** Filter values by key, as given. */
export type Filters = ReadonlyMap<string, readonly string[]>

/** How one key matches an item. */
export type Matcher<T> = (item: T, value: string) => boolean

export function collectFilter(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/**
 * Parses `--filter` values against the keys of `matchers`. `values` checks a key's value
 * when only some are allowed (e.g. `mode=replicated|global`).
 */
export function parseFilters<T>(
  given: readonly string[],
  matchers: Readonly<Record<string, Matcher<T>>>,
  values: Readonly<Record<string, readonly string[]>> = {},
): Filters {
  const out = new Map<string, string[]>()
  const keys = Object.keys(matchers)
  for (const g of given) {
    const i = g.indexOf('=')
    if (i <= 0) throw new CliError(`invalid filter '${g}': expected KEY=VALUE (keys: ${keys.join(', ')})`, 2)
    const key = g.slice(0, i).trim().toLowerCase()
    const value = g.slice(i + 1).trim()
    if (!Object.hasOwn(matchers, key))
      throw new CliError(`invalid filter '${key}': the filters here are ${keys.join(', ')}`, 2)
    const allowed = values[key]
    if (allowed !== undefined && !allowed.includes(value))
      throw new CliError(`invalid filter '${key}=${value}': expected ${key}=${allowed.join('|')}`, 2)
    out.set(key, [...(out.get(key) ?? []), value])
  }
  return out
}

/** The items every key matches (any of its values). */
export function applyFilters<T>(
  items: readonly T[],
  filters: Filters,
  matchers: Readonly<Record<string, Matcher<T>>>,
): T[] {
  return items.filter((item) =>
    [...filters].every(([key, vals]) => {
      const m = matchers[key]
      return m === undefined || vals.some((v) => m(item, v))
    }),
  )
}

/**
 * `label=KEY` (the label is set) or `label=KEY=VALUE` (set to that value) against a label map.
 */
export function labelMatches(labels: Readonly<Record<string, string>> | undefined, filter: string): boolean {
  const i = filter.indexOf('=')
  const key = i < 0 ? filter : filter.slice(0, i)
  if (labels === undefined || !Object.hasOwn(labels, key)) return false
  return i < 0 || labels[key] === filter.slice(i + 1)
}
