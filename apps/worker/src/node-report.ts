/** What a node tells the manager about itself, and how it admits gossip peers. */
import { availableParallelism, totalmem } from 'node:os'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { Pki } from '@swarmnet/pki'
import type { Runtime } from '@swarmnet/runtime'
import type { NodeIdentity } from './identity.js'
import type { AgentFactories } from './ports.js'

/** The capability a node reports when it can enforce task limits (the orchestrator's LIMITS_CAPABILITY). */
export const LIMITS_CAPABILITY = 'cgroups'

/** What this node's kernel can do, tried for real (`esp`, `ipvs`, …), and `cgroups` if it enforces limits. */
export async function nodeCapabilities(
  factories: Pick<AgentFactories, 'capabilities'>,
  runtime: Pick<Runtime, 'cgroups'>,
  options?: AbortOptions,
): Promise<string[]> {
  const caps = await factories.capabilities(options)
  const limits = (await runtime.cgroups(options)).mode !== 'none'
  return [
    ...(['esp', 'ipvs', 'vxlan', 'nftables'] as const).filter((k) => caps[k]),
    ...(limits ? [LIMITS_CAPABILITY] : []),
  ]
}

/** The node's CPUs (nano-CPUs) and memory (bytes): reservations count against them. */
export function nodeResources(): { nanoCpus: number; memoryBytes: number } {
  return { nanoCpus: availableParallelism() * 1e9, memoryBytes: totalmem() }
}

/** A gossip peer is admitted with a valid, unrevoked certificate of this cluster for its peer id. */
export async function verifyPeer(
  c: { pki: Pki; id: NodeIdentity; revoked: ReadonlySet<string>; logger: Logger },
  peerId: string,
  proof: Uint8Array,
): Promise<{ nodeId: string } | undefined> {
  const pem = new TextDecoder().decode(proof)
  try {
    const v = c.pki.verifyNodeCertificate(pem, {
      caCertPem: c.id.caPem,
      clusterId: c.id.clusterId,
      peerId,
      isRevoked: (r) => c.revoked.has(r),
    })
    return { nodeId: v.nodeId }
  } catch (err) {
    c.logger.debug('gossip peer refused', { peerId, err })
    return undefined
  }
}
