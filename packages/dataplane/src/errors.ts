/** Errors of the dataplane. Match on `name` or `code`, never on the message. */
import { SwarmnetError } from '@swarmnet/interface'

/** A kernel tool exited non-zero (or could not be started). */
export class CommandFailedError extends SwarmnetError {
  static override readonly code = 'ERR_COMMAND_FAILED'
  readonly argv: readonly string[]
  /** The exit code, or -1 when the process could not be started or was killed. */
  readonly exitCode: number
  readonly stderr: string

  constructor(argv: readonly string[], exitCode: number, stderr: string, options?: ErrorOptions) {
    super(
      `${argv.join(' ')} exited ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      CommandFailedError.code,
      options,
    )
    this.argv = argv
    this.exitCode = exitCode
    this.stderr = stderr
  }
}
