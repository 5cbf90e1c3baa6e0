/** Node records: a new member's record, and a record as `node ls` / `node inspect` show it. */
import { NotFoundError } from '@swarmnet/interface'
import type { Node } from '@swarmnet/orchestrator'
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
    labels: n.labels ?? {},
    ...(n.resources !== undefined ? { resources: n.resources } : {}),
    ...(n.portConflicts !== undefined ? { portConflicts: n.portConflicts } : {}),
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

/**
 * `node update --label-add K=V --label-rm K`: the labels after the change (removals last, as
 * Docker). Removing a key the node does not have is refused, as Docker does.
 */
export function updatedLabels(
  labels: Readonly<Record<string, string>> | undefined,
  add: Readonly<Record<string, string>> = {},
  rm: readonly string[] = [],
): Record<string, string> {
  const missing = rm.filter((k) => !(k in (labels ?? {})) && !(k in add))
  if (missing.length > 0) throw new NotFoundError(`key ${missing.join(', ')} doesn't exist in node's labels`)
  const out: Record<string, string> = { ...labels, ...add }
  for (const k of rm) delete out[k]
  return out
}

/** A node as the orchestrator sees it: status observed, role, labels, capabilities, capacity. */
export function schedulerNode(
  n: NodeRecord,
  status: NodeView['status'],
  downSince: () => number | undefined,
): Node & { downSince?: number } {
  const since = status === 'down' ? downSince() : undefined
  return {
    id: n.id,
    hostname: n.hostname,
    status,
    availability: n.availability,
    capabilities: n.capabilities ?? [],
    role: n.role,
    labels: n.labels ?? {},
    ...(n.resources !== undefined ? { resources: n.resources } : {}),
    ...(since !== undefined ? { downSince: since } : {}),
  }
}

/** The node's record after a heartbeat, or undefined when nothing it reports has changed. */
export function afterHeartbeat(
  n: NodeRecord,
  req: {
    hostname: string
    advertiseAddr: string
    gossipAddrs: string[]
    underlayMtu?: number | undefined
    capabilities?: string[] | undefined
    resources?: { nanoCpus: number; memoryBytes: number } | undefined
    /** Replaces the node's last list each heartbeat (absent: none). */
    portConflicts?: string[] | undefined
  },
  at: string,
): NodeRecord | undefined {
  const conflicts = req.portConflicts ?? []
  const changed =
    n.hostname !== req.hostname ||
    n.addr !== req.advertiseAddr ||
    n.gossipAddrs.join() !== req.gossipAddrs.join() ||
    (req.underlayMtu !== undefined && n.underlayMtu !== req.underlayMtu) ||
    (req.capabilities !== undefined && (n.capabilities ?? []).join() !== req.capabilities.join()) ||
    (req.resources !== undefined && JSON.stringify(n.resources) !== JSON.stringify(req.resources)) ||
    (n.portConflicts ?? []).join() !== conflicts.join()
  if (!changed) return undefined
  const { portConflicts: _, ...rest } = n
  return {
    ...rest,
    hostname: req.hostname,
    addr: req.advertiseAddr,
    gossipAddrs: req.gossipAddrs,
    updatedAt: at,
    ...(req.underlayMtu !== undefined ? { underlayMtu: req.underlayMtu } : {}),
    ...(req.capabilities !== undefined ? { capabilities: req.capabilities } : {}),
    ...(req.resources !== undefined ? { resources: req.resources } : {}),
    ...(conflicts.length > 0 ? { portConflicts: conflicts } : {}),
  }
}
