/**
 * The agent's metrics: what each metric reads from the parts' counters and `stats()` (a fake
 * set of sources, scraped as Prometheus text), and what the meter counts around the factories
 * (dataplane calls timed on a manual clock).
 */

import type { Dataplane, ReconcileResult } from '@swarmnet/dataplane'
import type { GossipStats } from '@swarmnet/gossip'
import { ManualClock } from '@swarmnet/interface'
import type { NetdbStats } from '@swarmnet/netdb'
import { describe, expect, it } from 'vitest'
import { AgentMeter } from '../src/metered.js'
import { createAgentMetrics, type MetricsSources } from '../src/metrics.js'
import { parseMetricsAddr } from '../src/metrics-server.js'
import type { AgentFactories } from '../src/ports.js'

const gossipStats: GossipStats = {
  admitted: 2,
  pending: 1,
  refusedPeers: 0,
  revokedPeers: 0,
  droppedMessages: 10,
  droppedUnadmittedRelay: 1,
  droppedUnsigned: 2,
  droppedUnknownSigner: 3,
  droppedBadAnnouncement: 4,
  messagesOut: 4,
  bytesOut: 321,
  messagesIn: 7,
  bytesIn: 700,
  deniedConnections: 0,
}

const netdbStats = {
  received: 10,
  applied: 8,
  droppedMalformed: 1,
  droppedWrongOwner: 2,
  droppedWithdrawn: 3,
  publishErrors: 5,
} as NetdbStats

function sources(over: Partial<MetricsSources> = {}): MetricsSources {
  return {
    tasks: () => ({
      started: 3,
      rejected: 0,
      failed: 1,
      transitions: { starting: 3, running: 3, failed: 1 },
    }),
    gossip: () => gossipStats,
    netdb: () => ({ stats: netdbStats, entries: new Map([['net-a', 3]]) }),
    kernel: () => ({ stepsApplied: 42, processes: 17 }),
    dispatcherSessions: async () => 3,
    ...over,
  }
}

/** The sample lines of a scrape (no HELP/TYPE), as a set. */
async function samples(m: ReturnType<typeof createAgentMetrics>): Promise<Set<string>> {
  const { body } = await m.scrape()
  return new Set(body.split('\n').filter((l) => l !== '' && !l.startsWith('#')))
}

describe('agent metrics', () => {
  it('maps each source to its metric at scrape time', async () => {
    const m = createAgentMetrics(sources(), { defaultMetrics: false })
    m.observeReconcile(0.03, 'reconcile', 'ok')
    m.observeReconcile(0.2, 'reconcile', 'ok')
    const s = await samples(m)
    for (const line of [
      'swarmnet_task_transitions_total{state="starting"} 3',
      'swarmnet_task_transitions_total{state="running"} 3',
      'swarmnet_task_transitions_total{state="failed"} 1',
      'swarmnet_reconcile_duration_seconds_count{kind="reconcile",outcome="ok"} 2',
      'swarmnet_reconcile_duration_seconds_bucket{le="0.05",kind="reconcile",outcome="ok"} 1',
      'swarmnet_reconcile_duration_seconds_bucket{le="0.25",kind="reconcile",outcome="ok"} 2',
      'swarmnet_kernel_entries_programmed_total 42',
      'swarmnet_dataplane_processes_total 17',
      'swarmnet_gossip_messages_total{direction="in"} 7',
      'swarmnet_gossip_messages_total{direction="out"} 4',
      'swarmnet_gossip_payload_bytes_total{direction="in"} 700',
      'swarmnet_gossip_payload_bytes_total{direction="out"} 321',
      'swarmnet_gossip_dropped_total{reason="unadmitted_relay"} 1',
      'swarmnet_gossip_dropped_total{reason="unsigned"} 2',
      'swarmnet_gossip_dropped_total{reason="unknown_signer"} 3',
      'swarmnet_gossip_dropped_total{reason="bad_announcement"} 4',
      'swarmnet_gossip_dropped_total{reason="malformed"} 1',
      'swarmnet_gossip_dropped_total{reason="wrong_owner"} 2',
      'swarmnet_gossip_dropped_total{reason="withdrawn_owner"} 3',
      'swarmnet_gossip_dropped_total{reason="publish_refused"} 5',
      'swarmnet_gossip_peers{state="admitted"} 2',
      'swarmnet_gossip_peers{state="pending"} 1',
      'swarmnet_dispatcher_sessions 3',
      'swarmnet_netdb_entries{network="net-a"} 3',
    ])
      expect(s, line).toContain(line)
  })

  it('follows its sources between scrapes, and leaves out what a node does not have', async () => {
    let entries = new Map([['net-a', 3]])
    let transitions: Record<string, number> = { running: 1 }
    const m = createAgentMetrics(
      sources({
        tasks: () => ({ started: 1, rejected: 0, failed: 0, transitions }),
        netdb: () => ({ stats: netdbStats, entries }),
        gossip: () => undefined,
        dispatcherSessions: async () => undefined, // a worker
      }),
      { defaultMetrics: false },
    )
    expect(await samples(m)).toContain('swarmnet_task_transitions_total{state="running"} 1')
    entries = new Map([['net-b', 1]])
    transitions = { running: 2, shutdown: 1 }
    const s = await samples(m)
    expect(s).toContain('swarmnet_task_transitions_total{state="running"} 2')
    expect(s).toContain('swarmnet_task_transitions_total{state="shutdown"} 1')
    expect(s).toContain('swarmnet_netdb_entries{network="net-b"} 1')
    const text = [...s].join('\n')
    expect(text).not.toContain('net-a')
    expect(s).toContain('swarmnet_dispatcher_sessions 0') // a worker holds no sessions
    expect(text).not.toMatch(/^swarmnet_gossip_peers/m)
    expect(text).not.toContain('unsigned')
    expect(text).not.toMatch(/^swarmnet_gossip_messages_total/m)
  })

  it("includes the process's RSS and CPU time (prom-client's default metrics)", async () => {
    const text = [...(await samples(createAgentMetrics(sources())))].join('\n')
    expect(text).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m)
    expect(text).toMatch(/^process_cpu_seconds_total \d/m)
  })
})

function fakeDataplane(clock: ManualClock, next: () => ReconcileResult, tookMs: number): Dataplane {
  let spawned = 0
  const run = async (): Promise<ReconcileResult> => {
    const result = next()
    await clock.advance(tookMs)
    spawned += result.processes
    if (result.warnings.includes('fail')) throw new Error('ip: batch failed')
    return result
  }
  return {
    reconcile: run,
    setPeers: run,
    teardown: run,
    plan: async () => ({ steps: [], warnings: [] }),
    observe: async () => {
      throw new Error('not used')
    },
    capabilities: async () => ({ vxlan: true, nftables: true, ipvs: false, esp: false }),
    get processes() {
      return spawned
    },
  } as unknown as Dataplane
}

describe('agent meter', () => {
  it('times and counts every dataplane call, across the dataplanes of successive runtimes', async () => {
    const clock = new ManualClock()
    let result: ReconcileResult = { steps: 5, processes: 2, warnings: [], failed: new Map() }
    const made: Dataplane[] = []
    const base = {
      dataplane: () => {
        const dp = fakeDataplane(clock, () => result, 40)
        made.push(dp)
        return dp
      },
    } as unknown as AgentFactories
    const meter = new AgentMeter(clock)
    const seen: Array<[number, string, string]> = []
    meter.onReconcile = (s, kind, outcome) => seen.push([s, kind, outcome])
    const f = meter.wrap(base)

    const dp = f.dataplane({ advertiseAddress: '192.0.2.11' })
    await dp.reconcile({ networks: [], endpoints: [] })
    await dp.setPeers('a', [])
    expect(meter.stepsApplied).toBe(10)
    expect(seen).toEqual([
      [0.04, 'reconcile', 'ok'],
      [0.04, 'peers', 'ok'],
    ])
    result = { steps: 9, processes: 1, warnings: ['fail'], failed: new Map() }
    await expect(dp.reconcile({ networks: [], endpoints: [] })).rejects.toThrow('batch failed')
    expect(seen.at(-1)).toEqual([0.04, 'reconcile', 'error'])
    expect(meter.stepsApplied).toBe(10) // a failed call programmed nothing it could count

    // a rejoin builds a new dataplane: the processes of the old one still count
    expect(meter.processesSpawned).toBe(5)
    f.dataplane({ advertiseAddress: '192.0.2.11' })
    expect(made).toHaveLength(2)
    expect(meter.processesSpawned).toBe(5)
  })
})

describe('metrics address', () => {
  it('takes IPv4:PORT and refuses anything else with what it expected', () => {
    expect(parseMetricsAddr('127.0.0.1:9323')).toEqual({ host: '127.0.0.1', port: 9323 })
    for (const bad of ['127.0.0.1', 'localhost:9323', '127.0.0.1:0', '127.0.0.1:70000', ':9323', '1.2.3:80'])
      expect(() => parseMetricsAddr(bad), bad).toThrow(/expected IPv4:PORT/)
  })
})
