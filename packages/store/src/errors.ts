import { ConflictError, InvalidInputError, SwarmnetError } from '@swarmnet/interface'

/** An operation ran before `open()` or after `close()`. */
export class StoreNotOpenError extends SwarmnetError {
  static override readonly code = 'ERR_STORE_NOT_OPEN'
  constructor(message = 'store is not open; call open() first', options?: ErrorOptions) {
    super(message, StoreNotOpenError.code, options)
  }
}

/** A record on disk is not JSON or does not pass its table's schema. */
export class CorruptRecordError extends SwarmnetError {
  static override readonly code = 'ERR_STORE_CORRUPT'
  constructor(message: string, options?: ErrorOptions) {
    super(message, CorruptRecordError.code, options)
  }
}

/** A table name is not 1-63 lowercase letters, digits, '-' or '_' starting with a letter. */
export class InvalidTableNameError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_TABLE_NAME'
  override readonly code = InvalidTableNameError.code
}

/** A record id is not a non-empty string of at most 1024 characters. */
export class InvalidIdError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_ID'
  override readonly code = InvalidIdError.code
}

/** A value to write is not JSON-serialisable or does not pass its table's schema. */
export class InvalidRecordError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_RECORD'
  override readonly code = InvalidRecordError.code
}

/** A table was asked for again with a different schema. */
export class TableSchemaConflictError extends ConflictError {
  static override readonly code = 'ERR_TABLE_SCHEMA_CONFLICT'
  override readonly code = TableSchemaConflictError.code
}
