/**
 * Joining: fetch the CA from the manager without trusting it, pin it against the digest in
 * the token, and only then open a verified TLS connection and send the secret and the CSR.
 */
import { X509Certificate } from 'node:crypto'
import type { AbortOptions } from '@swarmnet/interface'
import { InvalidInputError, SwarmnetError } from '@swarmnet/interface'
import { newNodeId } from '@swarmnet/manager'
import type { Pki } from '@swarmnet/pki'
import { callApi, managerApi } from '@swarmnet/wire'

export class CaMismatchError extends SwarmnetError {
  constructor(addr: string) {
    super(
      `the CA served by ${addr} does not match the token's CA digest: refusing to join`,
      'ERR_CA_MISMATCH',
    )
  }
}

export interface JoinRequest {
  token: string
  host: string
  port: number
  hostname: string
  advertiseAddr: string
  peerId: string
  gossipAddrs: string[]
  underlayMtu?: number | undefined
}

export async function joinCluster(pki: Pki, req: JoinRequest, options?: AbortOptions) {
  let parsed: { caDigest: string; secret: string }
  try {
    parsed = pki.parseJoinToken(req.token)
  } catch (err) {
    throw new InvalidInputError(`invalid join token: ${(err as Error).message}`, { cause: err })
  }
  const where = `${req.host}:${req.port}`
  // Step 1: untrusted fetch of the CA; nothing secret is sent on this connection.
  const { caPem } = await callApi(
    { host: req.host, port: req.port, tls: { rejectUnauthorized: false } },
    managerApi.ca,
    {},
    { ...options, timeoutMs: 10_000 },
  )
  if (pki.caDigest(caPem) !== parsed.caDigest) throw new CaMismatchError(where)
  // Step 2: a connection that verifies the manager against the pinned CA.
  // The manager assigns the node id; the CSR's CN is only a placeholder it overrides.
  const csr = pki.createNodeCsr({ nodeId: newNodeId(), peerId: req.peerId })
  const clusterId = /(?:^|\n)O=([^\n]+)/.exec(new X509Certificate(caPem).subject)?.[1] ?? ''
  const joined = await callApi(
    {
      host: req.host,
      port: req.port,
      tls: { ca: caPem, checkServerIdentity: pki.managerIdentityCheck(clusterId) },
    },
    managerApi.join,
    {
      secret: parsed.secret,
      caDigest: parsed.caDigest,
      csrPem: csr.csrPem,
      hostname: req.hostname,
      advertiseAddr: req.advertiseAddr,
      peerId: req.peerId,
      gossipAddrs: req.gossipAddrs,
      ...(req.underlayMtu !== undefined ? { underlayMtu: req.underlayMtu } : {}),
    },
    { ...options, timeoutMs: 20_000 },
  )
  return { ...joined, keyPem: csr.keyPem }
}
