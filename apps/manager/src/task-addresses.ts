/** The addresses of tasks being assigned: one per network, plus their node's LB address there. */
import type { Allocator } from '@swarmnet/allocator'
import type { TaskAttachment } from '@swarmnet/orchestrator'
import type { EndpointRecord } from './records.js'

/** The networks a task being assigned to `node` needs an address on. */
export interface TaskAddressRequest {
  taskId: string
  node: string
  networks: readonly string[]
}

/** The allocator id of a node's load balancer address on a network (Docker's lb endpoint). */
export const lbEndpointId = (node: string): string => `lb-${node}`

/**
 * Allocates on `a` (the caller commits its snapshot): a task whose addresses cannot all be had
 * gets none, and its reason in `failed`.
 */
export function allocateTaskAddresses(
  a: Allocator,
  requests: readonly TaskAddressRequest[],
): { allocated: Map<string, TaskAttachment[]>; failed: Map<string, string>; records: EndpointRecord[] } {
  const allocated = new Map<string, TaskAttachment[]>()
  const failed = new Map<string, string>()
  const records: EndpointRecord[] = []
  for (const r of requests) {
    const got: Array<EndpointRecord & { lb: string }> = []
    try {
      for (const networkId of r.networks) {
        const e = a.allocateEndpoint(networkId, r.taskId)
        got.push({
          id: r.taskId,
          networkId,
          node: r.node,
          ip: e.ip,
          prefix: Number(e.address.split('/')[1]),
          mac: e.mac,
          task: true,
          // the same for every task of the node
          lb: a.allocateEndpoint(networkId, lbEndpointId(r.node)).ip,
        })
      }
    } catch (err) {
      for (const e of got) a.releaseEndpoint(e.networkId, e.id)
      failed.set(r.taskId, (err as Error).message)
      continue
    }
    records.push(...got.map(({ lb: _, ...e }) => e))
    allocated.set(
      r.taskId,
      got.map((e) => ({ networkId: e.networkId, ip: e.ip, prefix: e.prefix, mac: e.mac, lb: e.lb })),
    )
  }
  return { allocated, failed, records }
}
