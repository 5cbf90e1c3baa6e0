import { createPrivateKey, X509Certificate } from 'node:crypto'
import { InvalidInputError } from '@swarmnet/interface'
import forge from 'node-forge'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ClusterCa, createPki, type NodeCsr } from '../src/index.js'
import { buildCsr, CLUSTER, DAY, fakeClock, HOUR, PEER_A, PEER_B, patchDer, T0 } from './fixtures.js'

const clock = fakeClock()
const pki = createPki({ clock })
let ca: ClusterCa
let csr: NodeCsr

beforeAll(() => {
  ca = pki.createCa({ clusterId: CLUSTER })
  csr = pki.createNodeCsr({ nodeId: 'node1', peerId: PEER_A })
})

describe('createCa', () => {
  it('is a 20-year RSA-2048 self-signed CA with O = cluster id', () => {
    const x = new X509Certificate(ca.certPem)
    expect(x.ca).toBe(true)
    expect(x.checkIssued(x)).toBe(true)
    expect(x.verify(x.publicKey)).toBe(true)
    expect(x.subject).toBe(`CN=swarmnet-ca\nO=${CLUSTER}`)
    expect(x.publicKey.asymmetricKeyType).toBe('rsa')
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048)
    expect(x.validFromDate.getTime()).toBe(T0 - HOUR)
    expect(x.validToDate.getTime()).toBe(T0 + 7300 * DAY)
    expect(x.keyUsage).toBeUndefined() // Node's keyUsage lists EKU OIDs: a CA has none
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
  })

  it('rejects a bad cluster id', () => {
    expect(() => pki.createCa({ clusterId: 'bad id/../' })).toThrow(InvalidInputError)
  })
})

describe('createNodeCsr', () => {
  it('carries CN = node id and the peer binding, signed by its own key', () => {
    const req = forge.pki.certificationRequestFromPem(csr.csrPem)
    expect(req.verify()).toBe(true)
    expect(req.subject.getField('CN')?.value).toBe('node1')
    const ext = req.getAttribute({ name: 'extensionRequest' }) as unknown as {
      extensions: Array<{ name: string; altNames: Array<{ type: number; value: string }> }>
    }
    expect(ext.extensions[0]?.altNames).toEqual([
      { type: 6, value: `swarmnet://peer/${PEER_A}` },
      { type: 6, value: 'swarmnet://node/node1' },
    ])
    expect(csr.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
  })

  it('rejects ids that do not fit a subject field or URI', () => {
    expect(() => pki.createNodeCsr({ nodeId: 'node1', peerId: 'not/a/peer' })).toThrow(InvalidInputError)
    expect(() => pki.createNodeCsr({ nodeId: '', peerId: PEER_A })).toThrow(InvalidInputError)
  })
})

describe('issue + verify round trip', () => {
  it('issues a 90-day cert with subject, SANs, EKU and key from the CSR', () => {
    const issued = pki.issueNodeCertificate(ca, { csrPem: csr.csrPem, role: 'worker', clusterId: CLUSTER })
    expect(issued).toMatchObject({ nodeId: 'node1', role: 'worker', clusterId: CLUSTER, peerId: PEER_A })
    expect(issued.notBefore).toBe(T0 - HOUR)
    expect(issued.notAfter).toBe(T0 + 90 * DAY)

    const x = new X509Certificate(issued.certPem)
    expect(x.subject).toBe(`CN=node1\nOU=worker\nO=${CLUSTER}`)
    expect(x.issuer).toBe(`CN=swarmnet-ca\nO=${CLUSTER}`)
    expect(x.subjectAltName).toBe(`URI:swarmnet://peer/${PEER_A}, URI:swarmnet://node/node1`)
    expect(x.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])
    expect(x.ca).toBe(false)
    expect(x.serialNumber.toLowerCase()).toBe(issued.serial)
    expect(x.checkPrivateKey(createPrivateKey(csr.keyPem))).toBe(true)

    const info = pki.verifyNodeCertificate(issued.certPem, { caCertPem: ca.certPem })
    const { certPem: _, ...expected } = issued
    expect(info).toEqual(expected)
  })

  it('takes role and cluster from the caller, never from the CSR subject', () => {
    const csrPem = buildCsr({
      subject: [
        { shortName: 'CN', value: 'node1' },
        { shortName: 'OU', value: 'manager' },
        { shortName: 'O', value: 'evil-cluster' },
      ],
      altNames: [{ type: 6, value: `swarmnet://peer/${PEER_A}` }],
    })
    const issued = pki.issueNodeCertificate(ca, { csrPem, role: 'worker', clusterId: CLUSTER })
    expect(new X509Certificate(issued.certPem).subject).toBe(`CN=node1\nOU=worker\nO=${CLUSTER}`)
  })

  it('lets the manager assign the node id and validity', () => {
    const issued = pki.issueNodeCertificate(ca, {
      csrPem: csr.csrPem,
      role: 'manager',
      clusterId: CLUSTER,
      nodeId: 'assigned7',
      validityMs: 2 * DAY,
    })
    expect(issued.nodeId).toBe('assigned7')
    expect(issued.notAfter).toBe(T0 + 2 * DAY)
    expect(new X509Certificate(issued.certPem).subjectAltName).toBe(
      `URI:swarmnet://peer/${PEER_A}, URI:swarmnet://node/assigned7`,
    )
  })

  it('uses the configured default validity and random distinct serials', () => {
    const short = createPki({ clock }, { nodeCertValidityMs: 10 * DAY })
    const a = short.issueNodeCertificate(ca, { csrPem: csr.csrPem, role: 'worker', clusterId: CLUSTER })
    const b = short.issueNodeCertificate(ca, { csrPem: csr.csrPem, role: 'worker', clusterId: CLUSTER })
    expect(a.notAfter).toBe(T0 + 10 * DAY)
    expect(a.serial).toMatch(/^[4-7][0-9a-f]{31}$/)
    expect(a.serial).not.toBe(b.serial)
  })
})

describe('issueNodeCertificate refuses', () => {
  const issue = (csrPem: string, extra: object = {}) =>
    pki.issueNodeCertificate(ca, { csrPem, role: 'worker', clusterId: CLUSTER, ...extra })

  it('a CSR whose signature does not verify', () => {
    const tampered = patchDer(csr.csrPem, 'CERTIFICATE REQUEST', 'node1', 'node2')
    expect(() => issue(tampered)).toThrow(
      expect.objectContaining({ name: 'InvalidCsrError', code: 'ERR_CSR_INVALID' }),
    )
  })

  it('garbage, a weak key, no peer binding, two peer bindings, an unexpected peer id', () => {
    const peer = (id: string) => ({ type: 6, value: `swarmnet://peer/${id}` })
    const cn = [{ shortName: 'CN', value: 'node3' }]
    for (const csrPem of [
      'not a csr',
      buildCsr({ subject: cn, altNames: [peer(PEER_A)], bits: 1024 }),
      buildCsr({ subject: cn }),
      buildCsr({ subject: cn, altNames: [{ type: 2, value: 'node3' }] }),
      buildCsr({ subject: cn, altNames: [peer(PEER_A), peer(PEER_B)] }),
      buildCsr({ subject: [{ shortName: 'CN', value: 'bad id' }], altNames: [peer(PEER_A)] }),
    ]) {
      expect(() => issue(csrPem)).toThrow(
        expect.objectContaining({ name: 'InvalidCsrError', code: 'ERR_CSR_INVALID' }),
      )
    }
    expect(() => issue(csr.csrPem, { peerId: PEER_B })).toThrow(
      expect.objectContaining({ code: 'ERR_CSR_INVALID' }),
    )
    expect(issue(csr.csrPem, { peerId: PEER_A }).peerId).toBe(PEER_A)
  })

  it('a role, cluster id or validity the CA must not sign', () => {
    expect(() => issue(csr.csrPem, { role: 'admin' })).toThrow(InvalidInputError)
    expect(() => issue(csr.csrPem, { clusterId: 'othercluster' })).toThrow(InvalidInputError)
    expect(() => issue(csr.csrPem, { validityMs: 1000 })).toThrow(InvalidInputError)
    expect(() =>
      pki.issueNodeCertificate(
        { certPem: ca.certPem, keyPem: csr.keyPem },
        {
          csrPem: csr.csrPem,
          role: 'worker',
          clusterId: CLUSTER,
        },
      ),
    ).toThrow(InvalidInputError)
  })
})
