import { InvalidInputError } from '@swarmnet/interface'
import forge from 'node-forge'
import { readNodeCsr } from './csr.js'
import type { ClusterCa, IssuedNodeCertificate, NodeRole } from './index.js'
import { generateRsaKeyPair, randomSerialHex } from './keys.js'
import { assertId, assertPeerId, assertRole, bindingUris } from './names.js'

export interface CaParams {
  clusterId: string
  commonName: string
  validityMs: number
  backdateMs: number
  keyBits: number
  now: number
}

export interface IssueParams {
  csrPem: string
  role: NodeRole
  clusterId: string
  nodeId?: string
  peerId?: string
  validityMs: number
  backdateMs: number
  now: number
}

/** A self-signed root CA: CN = commonName, O = cluster id; key usage limited to signing certificates. */
export function createCa(p: CaParams): ClusterCa {
  assertId('cluster id', p.clusterId)
  if (!/^[ -~]{1,64}$/.test(p.commonName))
    throw new InvalidInputError('CA common name must be 1-64 ASCII chars')
  assertDuration('CA validity', p.validityMs)
  const keys = generateRsaKeyPair(p.keyBits)
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem)
  cert.serialNumber = randomSerialHex()
  setValidity(cert, p.now, p.backdateMs, p.validityMs)
  const subject = [
    { shortName: 'CN', value: p.commonName },
    { shortName: 'O', value: p.clusterId },
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem }
}

/**
 * Sign a node CSR. The CSR contributes only its public key, its node id (CN, unless the caller assigns
 * one) and its peer id binding; role and cluster id come from the caller, never from the CSR.
 */
export function issueNodeCertificate(ca: ClusterCa, p: IssueParams): IssuedNodeCertificate {
  assertRole(p.role)
  assertId('cluster id', p.clusterId)
  if (p.nodeId !== undefined) assertId('node id', p.nodeId)
  if (p.peerId !== undefined) assertPeerId(p.peerId)
  assertDuration('certificate validity', p.validityMs)

  const { caCert, caKey } = readCa(ca)
  const caOrg = caCert.subject.getField('O')?.value
  if (caOrg !== undefined && caOrg !== p.clusterId) {
    throw new InvalidInputError('cluster id does not match the CA')
  }
  const csr = readNodeCsr(p.csrPem, p.peerId)
  const nodeId = p.nodeId ?? csr.nodeId

  const cert = forge.pki.createCertificate()
  cert.publicKey = csr.publicKey
  cert.serialNumber = randomSerialHex()
  const { notBefore, notAfter } = setValidity(cert, p.now, p.backdateMs, p.validityMs)
  cert.setSubject([
    { shortName: 'CN', value: nodeId },
    { shortName: 'OU', value: p.role },
    { shortName: 'O', value: p.clusterId },
  ])
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: bindingUris(nodeId, csr.peerId).map((value) => ({ type: 6, value })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return {
    certPem: forge.pki.certificateToPem(cert),
    nodeId,
    role: p.role,
    clusterId: p.clusterId,
    peerId: csr.peerId,
    serial: cert.serialNumber,
    notBefore,
    notAfter,
  }
}

function readCa(ca: ClusterCa): { caCert: forge.pki.Certificate; caKey: forge.pki.rsa.PrivateKey } {
  try {
    const caCert = forge.pki.certificateFromPem(ca.certPem)
    const caKey = forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey
    const pub = caCert.publicKey as forge.pki.rsa.PublicKey
    if (pub.n.compareTo(caKey.n) !== 0 || pub.e.compareTo(caKey.e) !== 0)
      throw new Error('key does not match')
    return { caCert, caKey }
  } catch (err) {
    throw new InvalidInputError('CA certificate or key is unusable', { cause: err })
  }
}

// X.509 times have second precision: round so the returned times equal the certificate's.
function setValidity(
  cert: forge.pki.Certificate,
  now: number,
  backdateMs: number,
  validityMs: number,
): { notBefore: number; notAfter: number } {
  const notBefore = Math.floor((now - backdateMs) / 1000) * 1000
  const notAfter = Math.floor((now + validityMs) / 1000) * 1000
  cert.validity.notBefore = new Date(notBefore)
  cert.validity.notAfter = new Date(notAfter)
  return { notBefore, notAfter }
}

function assertDuration(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 60 * 60 * 1000)
    throw new InvalidInputError(`${what} must be >= 1 hour`)
}
