import { X509Certificate } from 'node:crypto'
import { InvalidInputError } from '@swarmnet/interface'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ClusterCa, createPki, type IssuedNodeCertificate } from '../src/index.js'
import { CLUSTER, corruptSignature, DAY, fakeClock, HOUR, PEER_A, PEER_B, signRaw, T0 } from './fixtures.js'

const clock = fakeClock()
const pki = createPki({ clock })
let ca: ClusterCa
let otherCa: ClusterCa
let issued: IssuedNodeCertificate

beforeAll(() => {
  ca = pki.createCa({ clusterId: CLUSTER })
  otherCa = pki.createCa({ clusterId: CLUSTER }) // same subject, different key
  const { csrPem } = pki.createNodeCsr({ nodeId: 'node1', peerId: PEER_A })
  issued = pki.issueNodeCertificate(ca, { csrPem, role: 'manager', clusterId: CLUSTER })
})

const subjectOf = (role: string) => [
  { shortName: 'CN', value: 'node9' },
  { shortName: 'OU', value: role },
  { shortName: 'O', value: CLUSTER },
]
const peerUri = (peerId: string) => ({ type: 6, value: `swarmnet://peer/${peerId}` })

const rejects = (fn: () => unknown, name: string, code: string) =>
  expect(fn).toThrow(expect.objectContaining({ name, code }))

describe('verifyNodeCertificate', () => {
  it('accepts PEM and DER, at the edges of the validity window', () => {
    const der = new X509Certificate(issued.certPem).raw
    expect(pki.verifyNodeCertificate(der, { caCertPem: ca.certPem }).peerId).toBe(PEER_A)
    for (const now of [issued.notBefore, issued.notAfter]) {
      expect(pki.verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem, now }).nodeId).toBe('node1')
    }
  })

  it('uses the injected clock when `now` is not given', () => {
    const later = fakeClock(T0 + 91 * DAY)
    rejects(
      () => createPki({ clock: later }).verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem }),
      'CertificateExpiredError',
      'ERR_CERT_EXPIRED',
    )
  })

  it('rejects expired and not-yet-valid certificates', () => {
    const opts = { caCertPem: ca.certPem }
    rejects(
      () => pki.verifyNodeCertificate(issued.certPem, { ...opts, now: issued.notAfter + 1000 }),
      'CertificateExpiredError',
      'ERR_CERT_EXPIRED',
    )
    rejects(
      () => pki.verifyNodeCertificate(issued.certPem, { ...opts, now: T0 - 2 * HOUR }),
      'CertificateNotYetValidError',
      'ERR_CERT_NOT_YET_VALID',
    )
  })

  it('rejects a certificate of another CA, even one with the same subject', () => {
    rejects(
      () => pki.verifyNodeCertificate(issued.certPem, { caCertPem: otherCa.certPem }),
      'WrongIssuerError',
      'ERR_CERT_WRONG_ISSUER',
    )
  })

  it('rejects a certificate whose signature was altered', () => {
    rejects(
      () => pki.verifyNodeCertificate(corruptSignature(issued.certPem), { caCertPem: ca.certPem }),
      'BadSignatureError',
      'ERR_CERT_BAD_SIGNATURE',
    )
  })

  it('rejects a revoked certificate, by serial or by node id', () => {
    for (const revoked of [issued.serial, 'node1']) {
      rejects(
        () =>
          pki.verifyNodeCertificate(issued.certPem, {
            caCertPem: ca.certPem,
            isRevoked: (s) => s === revoked,
          }),
        'CertificateRevokedError',
        'ERR_CERT_REVOKED',
      )
    }
    const asked: string[] = []
    pki.verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem, isRevoked: (s) => asked.push(s) < 0 })
    expect(asked.sort()).toEqual([issued.serial, 'node1'].sort())
  })

  it('rejects a CA-signed certificate without a peer binding, or with two', () => {
    const subject = subjectOf('worker')
    const none = signRaw(ca, { subject, now: T0 })
    const dnsOnly = signRaw(ca, { subject, now: T0, altNames: [{ type: 2, value: 'node9' }] })
    const two = signRaw(ca, {
      subject,
      now: T0,
      altNames: [peerUri(PEER_A), peerUri(PEER_B)],
    })
    for (const certPem of [none, dnsOnly, two]) {
      rejects(
        () => pki.verifyNodeCertificate(certPem, { caCertPem: ca.certPem }),
        'MissingPeerBindingError',
        'ERR_CERT_NO_PEER_BINDING',
      )
    }
    // control: the same shape with one binding passes
    const one = signRaw(ca, { subject, now: T0, altNames: [peerUri(PEER_B)] })
    expect(pki.verifyNodeCertificate(one, { caCertPem: ca.certPem }).peerId).toBe(PEER_B)
  })

  it('rejects a CA-signed certificate without a valid role or with a node URI that is not its CN', () => {
    const badRole = signRaw(ca, { subject: subjectOf('admin'), now: T0, altNames: [peerUri(PEER_A)] })
    const badNodeUri = signRaw(ca, {
      subject: subjectOf('worker'),
      now: T0,
      altNames: [peerUri(PEER_A), { type: 6, value: 'swarmnet://node/node8' }],
    })
    for (const certPem of [badRole, badNodeUri, ca.certPem]) {
      rejects(
        () => pki.verifyNodeCertificate(certPem, { caCertPem: ca.certPem }),
        'InvalidCertificateError',
        'ERR_CERT_INVALID',
      )
    }
  })

  it('rejects garbage input and checks the caller-supplied expectations', () => {
    rejects(
      () => pki.verifyNodeCertificate('junk', { caCertPem: ca.certPem }),
      'InvalidCertificateError',
      'ERR_CERT_INVALID',
    )
    rejects(
      () => pki.verifyNodeCertificate(new Uint8Array(10), { caCertPem: ca.certPem }),
      'InvalidCertificateError',
      'ERR_CERT_INVALID',
    )
    expect(() => pki.verifyNodeCertificate(issued.certPem, { caCertPem: issued.certPem })).toThrow(
      InvalidInputError,
    )
    rejects(
      () => pki.verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem, peerId: PEER_B }),
      'PeerMismatchError',
      'ERR_CERT_PEER_MISMATCH',
    )
    rejects(
      () => pki.verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem, clusterId: 'other' }),
      'WrongClusterError',
      'ERR_CERT_WRONG_CLUSTER',
    )
    expect(
      pki.verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem, peerId: PEER_A, clusterId: CLUSTER })
        .role,
    ).toBe('manager')
  })
})
