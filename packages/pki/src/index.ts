/**
 * @packageDocumentation
 * The cluster's public-key infrastructure (node-forge + Node's crypto): a 20-year RSA root CA, node
 * certificates (CN = node id, OU = role, O = cluster id, bound to the node's libp2p peer id by a
 * `swarmnet://peer/<peerId>` URI SAN, usable for mutual TLS), their verification for gossip admission,
 * the renewal schedule, and Docker-format join tokens `SWNTKN-1-<ca digest>-<secret>`.
 * Keys are PEM strings handed back to the caller; nothing here logs or persists them.
 *
 * @example
 * ```ts
 * const pki = createPki({ clock: systemClock })
 * const ca = pki.createCa({ clusterId })                       // manager, at init
 * const token = pki.createJoinToken(ca.certPem)                // worker token
 * const { csrPem, keyPem } = pki.createNodeCsr({ nodeId, peerId }) // joiner
 * const { certPem } = pki.issueNodeCertificate(ca, { csrPem, role: 'worker', clusterId }) // manager
 * const info = pki.verifyNodeCertificate(certPem, { caCertPem: ca.certPem, peerId }) // gossip admission
 * ```
 */
import type { PeerCertificate } from 'node:tls'
import type { Clock } from '@swarmnet/interface'
import { createPkiImpl } from './pki.js'

export {
  BadSignatureError,
  CertificateExpiredError,
  CertificateNotYetValidError,
  CertificateRevokedError,
  InvalidCertificateError,
  InvalidCsrError,
  InvalidTokenError,
  MissingPeerBindingError,
  PeerMismatchError,
  ServerIdentityError,
  WrongClusterError,
  WrongIssuerError,
} from './errors.js'

export type NodeRole = 'manager' | 'worker'

/** The cluster root CA. `keyPem` (PKCS#8) is the cluster's most sensitive secret: store it, never log it. */
export interface ClusterCa {
  certPem: string
  keyPem: string
}

export interface CreateCaOptions {
  /** Goes into the CA subject's O; every certificate the CA issues must carry the same cluster id. */
  clusterId: string
  /** @default 'swarmnet-ca' */
  commonName?: string
  /** @default init.caValidityMs (20 years) */
  validityMs?: number
}

export interface CreateNodeCsrOptions {
  nodeId: string
  /** The node's libp2p peer id, bound into the certificate. */
  peerId: string
}

/** A CSR and the private key it was made for (PKCS#8 PEM; stays on the node). */
export interface NodeCsr {
  csrPem: string
  keyPem: string
}

export interface IssueNodeCertificateOptions {
  csrPem: string
  /** From the join token that was presented (or the node's current role on renewal), never from the CSR. */
  role: NodeRole
  clusterId: string
  /** Assign the node id instead of taking the CSR's CN. */
  nodeId?: string
  /** When known (e.g. from the libp2p connection), the CSR must bind exactly this peer id. */
  peerId?: string
  /** @default init.nodeCertValidityMs (90 days); at least 1 hour */
  validityMs?: number
}

/** What a verified node certificate says. Times are epoch milliseconds; `serial` is lowercase hex. */
export interface NodeCertificateInfo {
  nodeId: string
  role: NodeRole
  clusterId: string
  peerId: string
  serial: string
  notBefore: number
  notAfter: number
}

export interface IssuedNodeCertificate extends NodeCertificateInfo {
  certPem: string
}

export interface VerifyNodeCertificateOptions {
  caCertPem: string
  /** Verification time, epoch ms. @default components.clock.now() */
  now?: number
  /** Called with the serial (lowercase hex) and with the node id; `true` for either rejects. */
  isRevoked?: (serialOrNodeId: string) => boolean
  /** When given, the certificate's O must equal it. */
  clusterId?: string
  /** When given (the authenticated libp2p remote peer), the certificate must bind it. */
  peerId?: string
}

export interface CertificateValidity {
  notBefore: number
  notAfter: number
}

export interface ParsedJoinToken {
  version: 1
  /** 50 lowercase base36 chars: sha256 of the CA certificate's DER. */
  caDigest: string
  /** 25 lowercase base36 chars: 128 random bits. */
  secret: string
}

/** The shape of `tls.ConnectionOptions['checkServerIdentity']`. */
export type ServerIdentityCheck = (hostname: string, cert: PeerCertificate) => Error | undefined

export interface ManagerIdentityCheckOptions {
  isRevoked?: (serialOrNodeId: string) => boolean
}

export interface Pki {
  /** A self-signed root CA (RSA, `keyBits`), CN `swarmnet-ca`, O = cluster id. */
  createCa(options: CreateCaOptions): ClusterCa
  /** Joiner side: a fresh key and a CSR with CN = node id and the peer binding. */
  createNodeCsr(options: CreateNodeCsrOptions): NodeCsr
  /** Manager side: sign a CSR; role and cluster id come from `options`, never from the CSR. Throws InvalidCsrError. */
  issueNodeCertificate(ca: ClusterCa, options: IssueNodeCertificateOptions): IssuedNodeCertificate
  /** Check a node certificate (PEM, or DER such as `getPeerCertificate().raw`); throws a named error. */
  verifyNodeCertificate(cert: string | Uint8Array, options: VerifyNodeCertificateOptions): NodeCertificateInfo
  /** `checkServerIdentity` for TLS clients of a manager: O = cluster id and OU = manager, not revoked. */
  managerIdentityCheck(clusterId: string, options?: ManagerIdentityCheckOptions): ServerIdentityCheck
  /** A random moment (epoch ms) between 50 % and 80 % of the lifetime, drawn from `components.random`. */
  renewalTime(validity: CertificateValidity): number
  /** sha256 of the CA certificate's DER as 50 base36 chars; the PEM must hold exactly one certificate. */
  caDigest(caCertPem: string): string
  /** 128 random bits as 25 base36 chars. */
  generateTokenSecret(): string
  /** `SWNTKN-1-<caDigest>-<secret>`; a fresh secret unless one is given (validated). */
  createJoinToken(caCertPem: string, secret?: string): string
  /** Throws InvalidTokenError with a one-line reason. */
  parseJoinToken(token: string): ParsedJoinToken
  /** Whether a fetched CA PEM is the one the token pins; false for unparseable or multi-certificate PEMs. */
  caMatchesToken(caCertPem: string, token: string | ParsedJoinToken): boolean
  /** Constant-time comparison for token secrets or whole tokens. */
  secretsEqual(a: string, b: string): boolean
}

export interface PkiComponents {
  clock: Clock
  /** Uniform in [0, 1), for the renewal moment. @default a crypto-backed source */
  random?: () => number
}

export interface PkiInit {
  /** RSA modulus for CA and node keys. @default 2048 (the minimum) */
  keyBits?: number
  /** @default 90 days */
  nodeCertValidityMs?: number
  /** @default 20 years (7300 days) */
  caValidityMs?: number
  /** NotBefore is set this far in the past to tolerate clock skew. @default 1 hour */
  backdateMs?: number
}

export function createPki(components: PkiComponents, init?: PkiInit): Pki {
  return createPkiImpl(components, init)
}
