import { SwarmnetError } from '@swarmnet/interface'

/** The certificate could not be parsed or lacks the fields of a swarmnet node certificate. */
export class InvalidCertificateError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_INVALID'
  constructor(message = 'invalid certificate', options?: ErrorOptions) {
    super(message, InvalidCertificateError.code, options)
  }
}

/** The certificate's validity ended before the verification time. */
export class CertificateExpiredError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_EXPIRED'
  constructor(message = 'certificate has expired', options?: ErrorOptions) {
    super(message, CertificateExpiredError.code, options)
  }
}

/** The certificate's validity starts after the verification time. */
export class CertificateNotYetValidError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_NOT_YET_VALID'
  constructor(message = 'certificate is not yet valid', options?: ErrorOptions) {
    super(message, CertificateNotYetValidError.code, options)
  }
}

/** The certificate was not issued by the cluster CA (issuer name or key identifier differ). */
export class WrongIssuerError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_WRONG_ISSUER'
  constructor(message = 'certificate was not issued by the cluster CA', options?: ErrorOptions) {
    super(message, WrongIssuerError.code, options)
  }
}

/** The certificate names the cluster CA as issuer but the CA's signature does not verify. */
export class BadSignatureError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_BAD_SIGNATURE'
  constructor(message = 'certificate signature does not verify', options?: ErrorOptions) {
    super(message, BadSignatureError.code, options)
  }
}

/** The certificate (by serial) or its node (by id) has been revoked. */
export class CertificateRevokedError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_REVOKED'
  constructor(message = 'certificate has been revoked', options?: ErrorOptions) {
    super(message, CertificateRevokedError.code, options)
  }
}

/** The certificate does not bind exactly one libp2p peer id (`swarmnet://peer/<peerId>`). */
export class MissingPeerBindingError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_NO_PEER_BINDING'
  constructor(message = 'certificate does not bind a libp2p peer id', options?: ErrorOptions) {
    super(message, MissingPeerBindingError.code, options)
  }
}

/** The certificate binds a different peer id than the one the caller expected. */
export class PeerMismatchError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_PEER_MISMATCH'
  constructor(message = 'certificate is bound to another peer id', options?: ErrorOptions) {
    super(message, PeerMismatchError.code, options)
  }
}

/** The certificate belongs to another cluster (O differs), or lacks the role the caller requires. */
export class WrongClusterError extends SwarmnetError {
  static override readonly code = 'ERR_CERT_WRONG_CLUSTER'
  constructor(message = 'certificate belongs to another cluster', options?: ErrorOptions) {
    super(message, WrongClusterError.code, options)
  }
}

/** A TLS server's certificate is not that of a manager of the expected cluster. */
export class ServerIdentityError extends SwarmnetError {
  static override readonly code = 'ERR_TLS_SERVER_IDENTITY'
  constructor(message = 'server is not a manager of this cluster', options?: ErrorOptions) {
    super(message, ServerIdentityError.code, options)
  }
}

/** A certificate signing request is malformed, unsigned, uses a weak key or lacks required fields. */
export class InvalidCsrError extends SwarmnetError {
  static override readonly code = 'ERR_CSR_INVALID'
  constructor(message = 'invalid certificate signing request', options?: ErrorOptions) {
    super(message, InvalidCsrError.code, options)
  }
}

/** A join token is malformed; the message is a one-line reason safe to show (it never echoes the secret). */
export class InvalidTokenError extends SwarmnetError {
  static override readonly code = 'ERR_INVALID_TOKEN'
  constructor(message = 'invalid join token', options?: ErrorOptions) {
    super(message, InvalidTokenError.code, options)
  }
}
