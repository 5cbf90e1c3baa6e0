import { SwarmnetError } from '@swarmnet/interface'

/** A peer was not admitted: its proof was refused, it never proved, or it refused ours. */
export class AdmissionRefusedError extends SwarmnetError {
  static override readonly code = 'ERR_ADMISSION_REFUSED'
  constructor(message = 'peer admission refused', options?: ErrorOptions) {
    super(message, AdmissionRefusedError.code, options)
  }
}

/** A method that needs the running libp2p node was called before `start()` or after `stop()`. */
export class GossipNotStartedError extends SwarmnetError {
  static override readonly code = 'ERR_GOSSIP_NOT_STARTED'
  constructor(message = 'gossip is not started', options?: ErrorOptions) {
    super(message, GossipNotStartedError.code, options)
  }
}
