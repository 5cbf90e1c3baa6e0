import forge from 'node-forge'
import { InvalidCsrError } from './errors.js'
import type { NodeCsr } from './index.js'
import { generateRsaKeyPair, MIN_RSA_BITS } from './keys.js'
import {
  assertId,
  assertPeerId,
  bindingUris,
  isId,
  isPeerId,
  PEER_URI_PREFIX,
  urisWithPrefix,
} from './names.js'

/** A fresh key and a CSR with CN = node id and the peer binding URIs; the key never leaves the node. */
export function createNodeCsr(nodeId: string, peerId: string, keyBits: number): NodeCsr {
  assertId('node id', nodeId)
  assertPeerId(peerId)
  const keys = generateRsaKeyPair(keyBits)
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem)
  csr.setSubject([{ shortName: 'CN', value: nodeId }])
  csr.setAttributes([
    {
      name: 'extensionRequest',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: bindingUris(nodeId, peerId).map((value) => ({ type: 6, value })),
        },
      ],
    },
  ])
  csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create())
  return { csrPem: forge.pki.certificationRequestToPem(csr), keyPem: keys.privateKeyPem }
}

export interface NodeCsrContents {
  nodeId: string
  peerId: string
  publicKey: forge.pki.rsa.PublicKey
}

/**
 * Parse and check a CSR: self-signature valid (proof of key possession), RSA >= 2048 bits, CN a node
 * id, exactly one peer binding (equal to `expectedPeerId` when given). Other subject fields are ignored.
 */
export function readNodeCsr(csrPem: string, expectedPeerId?: string): NodeCsrContents {
  let csr: forge.pki.CertificateSigningRequest
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem)
  } catch (err) {
    throw new InvalidCsrError('CSR is not a PEM PKCS#10 request with an RSA key', { cause: err })
  }
  let signed = false
  try {
    signed = csr.verify()
  } catch {}
  if (!signed) throw new InvalidCsrError('CSR signature does not verify')
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null
  if (publicKey === null || publicKey.n.bitLength() < MIN_RSA_BITS) {
    throw new InvalidCsrError(`CSR key must be RSA >= ${MIN_RSA_BITS} bits`)
  }
  const nodeId: unknown = csr.subject.getField('CN')?.value
  if (!isId(nodeId)) throw new InvalidCsrError('CSR common name is not a node id')
  const peers = urisWithPrefix(requestedUris(csr), PEER_URI_PREFIX)
  const peerId = peers[0]
  if (peers.length !== 1 || !isPeerId(peerId)) throw new InvalidCsrError('CSR must bind exactly one peer id')
  if (expectedPeerId !== undefined && peerId !== expectedPeerId) {
    throw new InvalidCsrError('CSR peer id differs from the expected one')
  }
  return { nodeId, peerId, publicKey }
}

interface AltName {
  type: number
  value: string
}

function requestedUris(csr: forge.pki.CertificateSigningRequest): string[] {
  const attr = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: unknown[] } | null
  const uris: string[] = []
  for (const ext of attr?.extensions ?? []) {
    const e = ext as { name?: string; altNames?: AltName[] }
    if (e.name !== 'subjectAltName') continue
    for (const alt of e.altNames ?? []) if (alt.type === 6) uris.push(alt.value)
  }
  return uris
}
