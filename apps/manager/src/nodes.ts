/** Node records: a new member's record, and a record as `node ls` / `node inspect` show it. */
import type { NodeView } from '@swarmnet/wire'
import { mtuWarnings } from './mtu.js'
import type { NodeRecord } from './records.js'

export function nodeView(
  n: NodeRecord,
  selfId: string,
  status: NodeView['status'],
  networks: readonly { name: string; mtu: number }[],
): NodeView {
  return {
    id: n.id,
    hostname: n.hostname,
    role: n.role,
    status,
    availability: n.availability,
    addr: n.addr,
    managerStatus: n.role === 'manager' ? (n.id === selfId ? 'leader' : 'reachable') : '',
    self: n.id === selfId,
    peerId: n.peerId,
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
    certificateExpiry: n.certExpiry,
    engineVersion: n.engineVersion,
    ...(n.underlayMtu !== undefined ? { underlayMtu: n.underlayMtu } : {}),
    warnings: mtuWarnings(n.underlayMtu, networks),
  }
}

/** The record of a node that has just been issued its certificate (init or join). */
export function newNodeRecord(
  req: {
    nodeId: string
    hostname: string
    advertiseAddr: string
    peerId: string
    gossipAddrs: string[]
    underlayMtu?: number | undefined
  },
  role: NodeRecord['role'],
  issued: { serial: string; notAfter: number | Date },
  now: string,
  engineVersion: string,
): NodeRecord {
  return {
    id: req.nodeId,
    hostname: req.hostname,
    role,
    availability: 'active',
    addr: req.advertiseAddr,
    peerId: req.peerId,
    gossipAddrs: req.gossipAddrs,
    certSerial: issued.serial,
    certExpiry: new Date(issued.notAfter).toISOString(),
    createdAt: now,
    updatedAt: now,
    engineVersion,
    ...(req.underlayMtu !== undefined ? { underlayMtu: req.underlayMtu } : {}),
  }
}
