/**
 * Validation problems in plain words. zod's own texts ("Too small: expected string to have
 * >=1 characters", "Invalid input: expected string, received number") are for developers;
 * what reaches a user names the field and says what it must be. Schemas that carry their own
 * message keep it (zod gives a schema's message precedence over this map).
 */
import type { z } from 'zod'

type Issue = z.core.$ZodRawIssue

const KIND: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
}

function noun(origin: unknown, n: number): string {
  if (origin === 'string') return n === 1 ? 'character' : 'characters'
  if (origin === 'array' || origin === 'set') return n === 1 ? 'item' : 'items'
  return ''
}

/** A zod issue as a short plain-words phrase (without the field's name). */
export function plainIssue(issue: Issue): string {
  const i = issue as Issue & Record<string, unknown>
  switch (issue.code) {
    case 'invalid_type':
      return i.input === undefined
        ? 'is required'
        : `must be ${KIND[String(i.expected)] ?? String(i.expected)}`
    case 'too_small': {
      const min = Number(i.minimum)
      if (i.origin === 'string' && min === 1) return 'must not be empty'
      const n = noun(i.origin, min)
      return n === '' ? `must be at least ${String(i.minimum)}` : `must have at least ${min} ${n}`
    }
    case 'too_big': {
      const max = Number(i.maximum)
      const n = noun(i.origin, max)
      return n === '' ? `must be at most ${String(i.maximum)}` : `must have at most ${max} ${n}`
    }
    case 'invalid_format':
      return i.format === 'regex' ? 'is not in the expected form' : `is not a valid ${String(i.format)}`
    case 'invalid_value': {
      const values = (i.values as unknown[] | undefined) ?? []
      return `must be ${values
        .map((v) => String(v))
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}`
    }
    case 'unrecognized_keys':
      return `has unknown fields: ${((i.keys as string[] | undefined) ?? []).join(', ')}`
    case 'not_multiple_of':
      return `must be a multiple of ${String(i.divisor)}`
    default:
      return 'is not valid'
  }
}

/** The first problem of a failed parse as `FIELD: phrase` (`request` for the whole body). */
export function plainError(error: z.ZodError): string {
  const first = error.issues[0]
  if (first === undefined) return 'malformed request'
  return `${first.path.join('.') || 'request'}: ${first.message}`
}
