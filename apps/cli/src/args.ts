/** Shared parsing of command-line values, and running a verb over several arguments. */
import { parseHostPort } from '@swarmnet/ipv4'
import { CliError } from './errors.js'

/** commander's collector of a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** A whole number ≥ 0 written in decimal, or a usage error. */
export function parseCount(what: string) {
  return (v: string): number => {
    if (!/^\d{1,9}$/.test(v))
      throw new CliError(`invalid ${what} '${v}': expected a whole number, 0 or more`, 2)
    return Number(v)
  }
}

/**
 * Runs `fn` for every argument, docker's way: prints each one done, reports each failure on
 * stderr, and fails (exit 1) at the end if any did.
 */
export async function eachRef(refs: readonly string[], fn: (ref: string) => Promise<unknown>): Promise<void> {
  let failed = 0
  for (const ref of refs) {
    try {
      await fn(ref)
      console.log(ref)
    } catch (err) {
      if (!(err instanceof CliError)) throw err
      console.error(`Error: ${err.message}`)
      failed++
    }
  }
  // each failure is on stderr already: exit 1 without another line
  if (failed > 0) throw new CliError('', 1)
}

/** `--dns-upstream IP[:PORT]`, repeatable (at most 3, as resolv.conf). */
export function collectUpstream(v: string, previous: string[] = []): string[] {
  if (parseHostPort(v, 53) === undefined)
    throw new CliError(`invalid --dns-upstream '${v}': expected IP or IP:PORT`, 2)
  if (previous.length >= 3) throw new CliError('at most 3 --dns-upstream resolvers', 2)
  return [...previous, v]
}
