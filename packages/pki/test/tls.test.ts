import { X509Certificate } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { systemClock } from '@swarmnet/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterCa, createPki, type NodeCertificateInfo, type NodeRole } from '../src/index.js'
import { CLUSTER, PEER_A, PEER_B } from './fixtures.js'

// OpenSSL checks validity against the real time, so these certificates are issued on the system clock.
const pki = createPki({ clock: systemClock })

interface Identity {
  key: string
  cert: string
}

let ca: ClusterCa
let otherCa: ClusterCa
let manager: Identity
let worker: Identity
let foreignManager: Identity

function identity(
  authority: ClusterCa,
  nodeId: string,
  peerId: string,
  role: NodeRole,
  clusterId: string,
): Identity {
  const { csrPem, keyPem } = pki.createNodeCsr({ nodeId, peerId })
  return { key: keyPem, cert: pki.issueNodeCertificate(authority, { csrPem, role, clusterId }).certPem }
}

beforeAll(() => {
  ca = pki.createCa({ clusterId: CLUSTER })
  otherCa = pki.createCa({ clusterId: 'othercluster' })
  manager = identity(ca, 'manager1', PEER_A, 'manager', CLUSTER)
  worker = identity(ca, 'worker1', PEER_B, 'worker', CLUSTER)
  foreignManager = identity(otherCa, 'manager9', PEER_A, 'manager', 'othercluster')
})

const servers: tls.Server[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

interface Outcome {
  /** What the server's full verification said about the client, sent back over the connection. */
  seen?: NodeCertificateInfo
  clientError?: Error
  /** The server's `tlsClientError`, when it refused the handshake. */
  serverError?: Error
}

/** A manager-API-like mTLS server on 127.0.0.1 that verifies the client cert with the PKI and echoes it. */
async function handshake(server: Identity, client: Partial<Identity>, isRevoked?: (s: string) => boolean) {
  const srv = tls.createServer(
    { key: server.key, cert: server.cert, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true },
    (socket) => {
      const raw = socket.getPeerCertificate().raw
      const seen = pki.verifyNodeCertificate(raw, { caCertPem: ca.certPem, clusterId: CLUSTER, isRevoked })
      socket.end(JSON.stringify(seen))
    },
  )
  servers.push(srv)
  let serverError: Error | undefined
  srv.on('tlsClientError', (err) => {
    serverError = err
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  return new Promise<Outcome>((resolve) => {
    const outcome: Outcome = {}
    let data = ''
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...client,
      ca: [ca.certPem],
      checkServerIdentity: pki.managerIdentityCheck(CLUSTER, { isRevoked }),
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      data += chunk
    })
    socket.on('error', (err) => {
      outcome.clientError = err
    })
    socket.on('close', () => {
      if (data !== '') outcome.seen = JSON.parse(data) as NodeCertificateInfo
      // the server may learn of the failure a tick after the client sees the close
      setImmediate(() => resolve({ ...outcome, serverError }))
    })
  })
}

describe('node certificates in Node tls (mutual auth on 127.0.0.1)', () => {
  it('a worker client and a manager server authenticate each other', async () => {
    const out = await handshake(manager, worker)
    expect(out.clientError).toBeUndefined()
    expect(out.seen).toMatchObject({ nodeId: 'worker1', role: 'worker', clusterId: CLUSTER, peerId: PEER_B })
  })

  it('the client refuses a worker acting as server', async () => {
    const out = await handshake(worker, manager)
    expect(out.clientError).toMatchObject({ name: 'ServerIdentityError', code: 'ERR_TLS_SERVER_IDENTITY' })
    expect(out.seen).toBeUndefined()
  })

  it('the client refuses a revoked manager', async () => {
    const out = await handshake(manager, worker, (s) => s === 'manager1')
    expect(out.clientError).toMatchObject({ name: 'ServerIdentityError' })
  })

  it('the client refuses a manager of another cluster (chain does not reach our CA)', async () => {
    const out = await handshake(foreignManager, worker)
    expect(out.clientError).toBeDefined()
    expect(out.seen).toBeUndefined()
  })

  it('the server refuses a client with no certificate or one from another CA', async () => {
    for (const client of [{}, foreignManager]) {
      const out = await handshake(manager, client)
      expect(out.seen).toBeUndefined()
      expect(out.serverError).toBeDefined()
    }
  })
})

describe('managerIdentityCheck', () => {
  const legacy = (certPem: string) => new X509Certificate(certPem).toLegacyObject()

  it('accepts a manager of the cluster whatever the hostname, refuses others', () => {
    const check = pki.managerIdentityCheck(CLUSTER)
    expect(check('10.1.2.3', legacy(manager.cert))).toBeUndefined()
    expect(check('10.1.2.3', legacy(worker.cert))).toMatchObject({ name: 'ServerIdentityError' })
    expect(check('10.1.2.3', legacy(foreignManager.cert))).toMatchObject({ name: 'ServerIdentityError' })
    expect(pki.managerIdentityCheck('othercluster')('x', legacy(foreignManager.cert))).toBeUndefined()
  })
})
