/** The gossip mesh: dialing the members the manager lists that the mesh is not connected to. */
import type { Gossip } from '@swarmnet/gossip'
import type { Logger } from '@swarmnet/interface'
import type { PeerInfo } from '@swarmnet/wire'

/** Dials each listed, unrevoked peer not connected yet (its addresses in turn, 2 s each). */
export async function redialPeers(
  gossip: Gossip,
  peers: readonly PeerInfo[],
  revoked: ReadonlySet<string>,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const connected = new Set(gossip.peers().map((p) => p.peerId))
  for (const p of peers) {
    if (connected.has(p.peerId) || revoked.has(p.nodeId)) continue
    for (const addr of p.addrs) {
      try {
        await gossip.dial(addr, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) })
        break
      } catch (err) {
        logger.debug('gossip dial failed', { addr, err })
      }
    }
  }
}
