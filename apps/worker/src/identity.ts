/** The node's identity and membership, persisted in its store (table `node`, key `self`). */
export interface NodeIdentity {
  nodeId: string
  role: 'manager' | 'worker'
  clusterId: string
  hostname: string
  caPem: string
  certPem: string
  /** Private key of the node certificate: never logged. */
  keyPem: string
  /** libp2p private key, base64 of its protobuf bytes: never logged. */
  peerKey: string
  peerId: string
  /** `IP:PORT` of the manager API */
  managerAddr: string
  advertiseAddr: string
  listenHost: string
  listenPort: number
  dataPathPort: number
  gossipPort: number
  /** The resolver's upstreams given to init/join (`--dns-upstream`); absent: /etc/resolv.conf. */
  dnsUpstreams?: string[]
}

export const IDENTITY_TABLE = 'node'
export const IDENTITY_KEY = 'self'
