import { generateKeyPairSync } from 'node:crypto'
import type { Clock } from '@swarmnet/interface'
import forge from 'node-forge'
import type { ClusterCa } from '../src/index.js'

export const HOUR = 60 * 60 * 1000
export const DAY = 24 * HOUR
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0)

export const CLUSTER = 'cluster0a1b2c3d4e5f6g7h8i9'
export const PEER_A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
export const PEER_B = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE'

/** A clock that reads `t` and never sleeps. */
export function fakeClock(t = T0): Clock & { t: number } {
  const clock = {
    t,
    now: () => clock.t,
    sleep: async () => {},
  }
  return clock
}

/**
 * Sign an arbitrary certificate with the CA key, for shapes `issueNodeCertificate` refuses to produce
 * (no peer binding, foreign subject fields).
 */
export function signRaw(
  ca: ClusterCa,
  opts: {
    subject: forge.pki.CertificateField[]
    altNames?: Array<{ type: number; value: string }>
    now: number
  },
): string {
  const caCert = forge.pki.certificateFromPem(ca.certPem)
  const keys = forgeKeys(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = '4a0b'
  cert.validity.notBefore = new Date(opts.now - HOUR)
  cert.validity.notAfter = new Date(opts.now + DAY)
  cert.setSubject(opts.subject)
  cert.setIssuer(caCert.subject.attributes)
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]
  if (opts.altNames !== undefined) extensions.push({ name: 'subjectAltName', altNames: opts.altNames })
  cert.setExtensions(extensions)
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create())
  return forge.pki.certificateToPem(cert)
}

/** The same certificate with one bit of its signature flipped. */
export function corruptSignature(certPem: string): string {
  const der = Buffer.from(certPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`
}

/** A CSR built from scratch with forge (a parsed CSR re-serialises its original bytes, so cannot be edited). */
export function buildCsr(opts: {
  subject: forge.pki.CertificateField[]
  altNames?: Array<{ type: number; value: string }>
  bits?: number
}): string {
  const keys = forgeKeys(opts.bits ?? 2048)
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = keys.publicKey
  csr.setSubject(opts.subject)
  if (opts.altNames !== undefined) {
    csr.setAttributes([
      { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: opts.altNames }] },
    ])
  }
  csr.sign(keys.privateKey, forge.md.sha256.create())
  return forge.pki.certificationRequestToPem(csr)
}

/** The PEM with the first occurrence of `from` replaced by `to` (same length) in its DER bytes. */
export function patchDer(pem: string, label: string, from: string, to: string): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
  const at = der.indexOf(from)
  if (at < 0 || from.length !== to.length) throw new Error('patch does not apply')
  der.write(to, at, 'latin1')
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

/** An RSA key pair made natively, as forge objects. */
export function forgeKeys(bits: number): {
  publicKey: forge.pki.rsa.PublicKey
  privateKey: forge.pki.rsa.PrivateKey
} {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
  }
}
