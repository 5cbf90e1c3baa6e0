/** `swarmnet info`: this node, its cluster, its underlay and what the manager finds wrong. */
import type { InfoView } from '@swarmnet/wire'
import { hostname, kernelRelease } from './host.js'
import { DEFAULT_DATA_PATH_PORT, DEFAULT_GOSSIP_PORT } from './membership.js'
import type { NodeRuntime } from './node-runtime.js'

export function agentInfo(
  runtime: NodeRuntime | undefined,
  capabilities: InfoView['capabilities'],
  version: string,
): InfoView {
  const id = runtime?.identity
  return {
    nodeId: id?.nodeId ?? '',
    hostname: hostname(),
    role: id?.role ?? '',
    clusterId: id?.clusterId ?? '',
    state: id === undefined ? 'inactive' : runtime?.heartbeat.ok ? 'active' : 'pending',
    managerAddr: id?.managerAddr ?? '',
    advertiseAddr: id?.advertiseAddr ?? '',
    dataPathPort: id?.dataPathPort ?? DEFAULT_DATA_PATH_PORT,
    gossipPort: id?.gossipPort ?? DEFAULT_GOSSIP_PORT,
    capabilities,
    version,
    node: process.version,
    kernel: kernelRelease(),
    pid: process.pid,
    tasks: taskTotals(runtime),
    ...(runtime?.underlayMtu !== undefined ? { underlayMtu: runtime.underlayMtu } : {}),
    warnings: [...(runtime?.warnings ?? [])],
    ...(runtime?.dns !== undefined ? { dns: runtime.dns } : {}),
    agent: agentProcess(),
  }
}

/** The counters `info` shows (the transitions by state are for metrics). */
function taskTotals(runtime: NodeRuntime | undefined): InfoView['tasks'] {
  const c = runtime?.taskCounters
  return { started: c?.started ?? 0, rejected: c?.rejected ?? 0, failed: c?.failed ?? 0 }
}

/** This process's resident memory and CPU time (the agent answers `info` itself). */
function agentProcess(): NonNullable<InfoView['agent']> {
  const cpu = process.cpuUsage()
  return { rssBytes: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}
