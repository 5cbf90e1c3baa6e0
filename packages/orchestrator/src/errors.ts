import { ConflictError, InvalidInputError } from '@swarmnet/interface'

/** The service name is empty, too long (> 63) or does not match `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`. */
export class InvalidServiceNameError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_SERVICE_NAME'
  override readonly code = InvalidServiceNameError.code
}

/** Replicas is not an integer in [0, max]. */
export class InvalidReplicasError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_REPLICAS'
  override readonly code = InvalidReplicasError.code
}

/** The mode, argv, env or networks of a service spec are malformed. */
export class InvalidServiceSpecError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_SERVICE_SPEC'
  override readonly code = InvalidServiceSpecError.code
}

/** The restart condition, delay or max attempts are invalid. */
export class InvalidRestartPolicyError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_RESTART_POLICY'
  override readonly code = InvalidRestartPolicyError.code
}

/** `scale` on a global service. */
export class NotReplicatedError extends InvalidInputError {
  static override readonly code = 'ERR_NOT_REPLICATED'
  override readonly code = NotReplicatedError.code
}

/** Another service already has this name. */
export class ServiceExistsError extends ConflictError {
  static override readonly code = 'ERR_SERVICE_EXISTS'
  override readonly code = ServiceExistsError.code
}

/** An update or rollback config (`--update-*`, `--rollback-*`) is invalid. */
export class InvalidUpdateConfigError extends InvalidInputError {
  static override readonly code = 'ERR_INVALID_UPDATE_CONFIG'
  override readonly code = InvalidUpdateConfigError.code
}

/** `service rollback` of a service that has no previous spec. */
export class NoPreviousSpecError extends ConflictError {
  static override readonly code = 'ERR_NO_PREVIOUS_SPEC'
  override readonly code = NoPreviousSpecError.code
}
