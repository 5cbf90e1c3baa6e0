import { X509Certificate } from 'node:crypto'
import type { PeerCertificate } from 'node:tls'
import { InvalidInputError } from '@swarmnet/interface'
import {
  BadSignatureError,
  CertificateExpiredError,
  CertificateNotYetValidError,
  CertificateRevokedError,
  InvalidCertificateError,
  MissingPeerBindingError,
  PeerMismatchError,
  ServerIdentityError,
  WrongClusterError,
  WrongIssuerError,
} from './errors.js'
import type { NodeCertificateInfo, ServerIdentityCheck } from './index.js'
import { isId, isPeerId, isRole, NODE_URI_PREFIX, PEER_URI_PREFIX, urisWithPrefix } from './names.js'

export interface VerifyParams {
  caCertPem: string
  now: number
  isRevoked?: (serialOrNodeId: string) => boolean
  clusterId?: string
  peerId?: string
}

/**
 * Check a node certificate against the cluster CA with OpenSSL (untrusted input never meets a JS ASN.1
 * parser). Order: issuer, signature, not a CA, validity window, subject, peer binding, revocation,
 * then the caller's expectations.
 */
export function verifyNodeCertificate(cert: string | Uint8Array, p: VerifyParams): NodeCertificateInfo {
  const ca = parseCaCertificate(p.caCertPem)
  let x: X509Certificate
  try {
    x = new X509Certificate(cert)
  } catch (err) {
    throw new InvalidCertificateError('not a PEM or DER X.509 certificate', { cause: err })
  }
  if (!x.checkIssued(ca)) throw new WrongIssuerError()
  if (!x.verify(ca.publicKey)) throw new BadSignatureError()
  if (x.ca) throw new InvalidCertificateError('a CA certificate is not a node certificate')

  const notBefore = x.validFromDate.getTime()
  const notAfter = x.validToDate.getTime()
  if (p.now < notBefore) throw new CertificateNotYetValidError()
  if (p.now > notAfter) throw new CertificateExpiredError()

  const { CN: nodeId, OU: role, O: clusterId } = x.toLegacyObject().subject as Record<string, unknown>
  if (!isId(nodeId) || !isRole(role) || !isId(clusterId)) {
    throw new InvalidCertificateError('subject must carry one node id (CN), role (OU) and cluster id (O)')
  }
  const uris = sanUris(x.subjectAltName)
  const peers = urisWithPrefix(uris, PEER_URI_PREFIX)
  const peerId = peers[0]
  if (peers.length !== 1 || !isPeerId(peerId)) throw new MissingPeerBindingError()
  if (urisWithPrefix(uris, NODE_URI_PREFIX).some((id) => id !== nodeId)) {
    throw new InvalidCertificateError('node URI differs from the common name')
  }
  const serial = x.serialNumber.toLowerCase()
  if (p.isRevoked?.(serial) === true || p.isRevoked?.(nodeId) === true) throw new CertificateRevokedError()
  if (p.clusterId !== undefined && clusterId !== p.clusterId) throw new WrongClusterError()
  if (p.peerId !== undefined && peerId !== p.peerId) throw new PeerMismatchError()
  return { nodeId, role, clusterId, peerId, serial, notBefore, notAfter }
}

/**
 * A `checkServerIdentity` for `tls.connect`/`https.request` to a manager addressed by IP: the chain is
 * already verified against the CA by TLS; this accepts only O = cluster id and OU = manager.
 */
export function managerIdentityCheck(
  clusterId: string,
  isRevoked?: (serialOrNodeId: string) => boolean,
): ServerIdentityCheck {
  return (_hostname: string, cert: PeerCertificate): Error | undefined => {
    const subject = cert.subject as Record<string, unknown> | undefined
    if (subject?.O !== clusterId) return new ServerIdentityError('server certificate is for another cluster')
    if (subject.OU !== 'manager') return new ServerIdentityError('server certificate is not a manager')
    const serial = typeof cert.serialNumber === 'string' ? cert.serialNumber.toLowerCase() : ''
    const nodeId = typeof subject.CN === 'string' ? subject.CN : ''
    if (isRevoked?.(serial) === true || isRevoked?.(nodeId) === true) {
      return new ServerIdentityError('server certificate has been revoked')
    }
    return undefined
  }
}

export function parseCaCertificate(caCertPem: string): X509Certificate {
  let ca: X509Certificate
  try {
    ca = new X509Certificate(caCertPem)
  } catch (err) {
    throw new InvalidInputError('CA certificate is not a PEM X.509 certificate', { cause: err })
  }
  if (!ca.ca) throw new InvalidInputError('CA certificate lacks basicConstraints cA')
  return ca
}

// Node renders the SAN as `URI:a, URI:b, DNS:c`; values it would have to quote fail the id checks later.
function sanUris(san: string | undefined): string[] {
  if (san === undefined) return []
  return san
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4))
}
