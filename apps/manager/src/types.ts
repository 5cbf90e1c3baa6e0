import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import type { Pki } from '@swarmnet/pki'
import type { Store } from '@swarmnet/store'
import type { NodeView } from '@swarmnet/wire'
import type { NetworkService } from './networks.js'
import type { ClusterRecord, NodeRecord } from './records.js'
import type { ServiceController } from './services.js'

export interface ManagerComponents {
  logger: Logger
  clock: Clock
  store: Store
  pki: Pki
  events?: { onRevoked?(nodeId: string): void }
}

export interface ManagerInit {
  /** @default '0.0.0.0' */
  listenHost: string
  /** @default 2377 */
  listenPort: number
  version: string
  /** Heartbeat period told to the nodes and used for liveness. @default 5000 */
  heartbeatPeriodMs?: number
  /** Missed heartbeat periods before a node is Down. @default 3 */
  downAfterPeriods?: number
  /** Orchestrator pass when nothing wakes it. @default 1000 */
  orchestratePeriodMs?: number
}

export interface BootstrapInit {
  nodeId: string
  hostname: string
  advertiseAddr: string
  peerId: string
  gossipAddrs: string[]
  csrPem: string
  dataPathPort: number
  defaultAddrPool: string
  defaultAddrPoolMaskLen: number
  /** The pool was asked for (not the default): it must not hold this node's address. */
  defaultAddrPoolGiven?: boolean
  /** MTU of the interface carrying advertiseAddr. */
  underlayMtu?: number
  /** Automatic IPsec key rotation period. @default 12 h */
  encryptionKeyRotationMs?: number
  /** `init --ingress-subnet`: the ingress network's subnet. @default one from the pool */
  ingressSubnet?: string | undefined
}

export interface Manager {
  bootstrap(
    b: BootstrapInit,
    options?: AbortOptions,
  ): Promise<{ cluster: ClusterRecord; node: NodeRecord; certPem: string }>
  start(tls: { certPem: string; keyPem: string }, options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
  cluster(options?: AbortOptions): Promise<ClusterRecord>
  joinToken(role: 'worker' | 'manager', rotate: boolean, options?: AbortOptions): Promise<string>
  listNodes(selfId: string, options?: AbortOptions): Promise<NodeView[]>
  /** Availability, and labels added (`labelAdd`) and removed (`labelRm`, keys it must have). */
  updateNode(
    ref: string,
    patch: {
      availability?: NodeRecord['availability']
      labelAdd?: Record<string, string>
      labelRm?: string[]
    },
    selfId: string,
    options?: AbortOptions,
  ): Promise<NodeView>
  findNode(ref: string, options?: AbortOptions): Promise<NodeRecord>
  removeNode(ref: string, force: boolean, selfId: string, options?: AbortOptions): Promise<void>
  revokedIds(options?: AbortOptions): Promise<string[]>
  /** Overlay networks and endpoint addresses. */
  networks(options?: AbortOptions): Promise<NetworkService>
  /** Services, tasks and the dispatcher. */
  services(options?: AbortOptions): Promise<ServiceController>
  /** Nodes with an open session (kept-open mTLS connection) to this manager. */
  readonly sessionCount: number
  /** Rotates the IPsec keyring now; resolves with the new generation. */
  rotateKeys(options?: AbortOptions): Promise<number>
}
