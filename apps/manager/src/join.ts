/**
 * Admission of a joining node: the token's CA digest and secret are checked, the node gets an
 * id and a certificate bound to its libp2p peer id, and learns the managers.
 */
import { ConflictError, InvalidInputError, NotSupportedError } from '@swarmnet/interface'
import type { Pki } from '@swarmnet/pki'
import { UnauthorizedError } from './auth.js'
import { newId } from './ids.js'
import { newNodeRecord } from './nodes.js'
import type { ClusterRecord, NodeRecord } from './records.js'

export interface JoinRequest {
  secret: string
  caDigest: string
  csrPem: string
  hostname: string
  advertiseAddr: string
  peerId: string
  gossipAddrs: string[]
  underlayMtu?: number | undefined
}

export async function admitNode(
  d: {
    cluster: ClusterRecord
    pki: Pki
    nodes: readonly NodeRecord[]
    now: number
    listenPort: number
    version: string
    save(node: NodeRecord): Promise<void>
  },
  req: JoinRequest,
) {
  const { cluster, pki } = d
  if (req.caDigest !== pki.caDigest(cluster.caCertPem))
    throw new InvalidInputError('the token was not issued by this cluster (CA digest mismatch)')
  let role: 'worker' | 'manager'
  if (pki.secretsEqual(req.secret, cluster.workerSecret)) role = 'worker'
  else if (pki.secretsEqual(req.secret, cluster.managerSecret)) role = 'manager'
  else throw new UnauthorizedError('invalid join token')
  if (role === 'manager')
    throw new NotSupportedError(
      'joining as a manager is not supported yet: this cluster has a single manager',
    )
  const existing = d.nodes.find((n) => n.peerId === req.peerId)
  if (existing !== undefined)
    throw new ConflictError(`this node is already part of the cluster as ${existing.id}`)
  const nodeId = newId()
  const issued = pki.issueNodeCertificate(
    { certPem: cluster.caCertPem, keyPem: cluster.caKeyPem },
    { csrPem: req.csrPem, nodeId, role, clusterId: cluster.id, peerId: req.peerId },
  )
  const node = newNodeRecord({ ...req, nodeId }, role, issued, new Date(d.now).toISOString(), d.version)
  await d.save(node)
  const managers = [...d.nodes, node]
    .filter((n) => n.role === 'manager')
    .map((n) => ({
      addr: `${n.addr}:${d.listenPort}`,
      nodeId: n.id,
      peerId: n.peerId,
      gossipAddrs: n.gossipAddrs,
    }))
  return {
    nodeId,
    role,
    clusterId: cluster.id,
    certPem: issued.certPem,
    caPem: cluster.caCertPem,
    dataPathPort: cluster.dataPathPort,
    managers,
  }
}
