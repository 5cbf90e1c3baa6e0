import { InvalidRequestError } from './errors.js'

/** Ids and names are opaque, but must be non-empty strings of reasonable length. */
export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new InvalidRequestError(`${what} must be a non-empty string of at most 256 characters`)
  }
  return value
}
