/** Who calls the manager API: the node named by a valid, unrevoked client certificate. */
import { SwarmnetError } from '@swarmnet/interface'
import type { Pki } from '@swarmnet/pki'
import type { RequestContext } from '@swarmnet/wire'
import type { ClusterRecord, NodeRecord } from './records.js'

export class UnauthorizedError extends SwarmnetError {
  constructor(message: string) {
    super(message, 'ERR_UNAUTHORIZED')
  }
}
export class ForbiddenError extends SwarmnetError {
  constructor(message: string) {
    super(message, 'ERR_FORBIDDEN')
  }
}

/** The caller's node, from its verified client certificate; never from the body. */
export async function verifyCaller(
  ctx: RequestContext,
  d: {
    pki: Pki
    cluster: ClusterRecord
    revoked: ReadonlySet<string>
    node(id: string): Promise<NodeRecord | undefined>
  },
): Promise<NodeRecord> {
  const raw = ctx.tls?.getPeerCertificate(false)?.raw
  if (raw === undefined || raw.length === 0) throw new UnauthorizedError('a node certificate is required')
  let id: { nodeId: string }
  try {
    id = d.pki.verifyNodeCertificate(raw, {
      caCertPem: d.cluster.caCertPem,
      clusterId: d.cluster.id,
      isRevoked: (serialOrNodeId) => d.revoked.has(serialOrNodeId),
    })
  } catch (err) {
    throw new ForbiddenError(`certificate refused: ${(err as Error).message}`)
  }
  const n = await d.node(id.nodeId)
  if (n === undefined) throw new ForbiddenError('node was removed from the cluster')
  return n
}
