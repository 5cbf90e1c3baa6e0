import { InvalidIdError, InvalidTableNameError } from './errors.js'

const TABLE_NAME = /^[a-z][a-z0-9_-]{0,62}$/
const MAX_ID = 1024

export function checkTableName(name: unknown): string {
  if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
    throw new InvalidTableNameError(
      `table name '${String(name)}' is invalid: use 1-63 lowercase letters, digits, '-' or '_', starting with a letter`,
    )
  }
  return name
}

export function checkId(table: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
    throw new InvalidIdError(
      `id in table '${table}' must be a non-empty string of at most ${MAX_ID} characters`,
    )
  }
  return id
}
