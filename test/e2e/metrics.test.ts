/**
 * Issue 9 (metrics) on the lab: `swarmnet agent --metrics-addr 127.0.0.1:9323` serves
 * Prometheus text inside each lab host, a service's task transitions, its network's entries and
 * the gossip between the hosts show in it, and `info` shows the agent's RSS and CPU time. A bad
 * address is refused before an agent starts.
 */
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createWhoami,
  dumpAgentLogs,
  newLab,
  settledRows,
  sw,
  swJson,
  swOk,
  type TaskJson,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'

const ADDR = '127.0.0.1:9323'
const HOSTS = 2

describe('agent metrics (lab of 2 hosts)', () => {
  let lab: Lab

  /** One metrics scrape from inside a lab host (its own loopback). */
  const scrape = async (host: number): Promise<string> => {
    const r = await lab.exec(host, ['curl', '-sf', '--max-time', '5', `http://${ADDR}/metrics`])
    if (r.exitCode !== 0) throw new Error(`curl ${ADDR}/metrics on host ${host} exited ${r.exitCode}`)
    return r.stdout
  }
  /** The value of one sample line (`name{labels} value`), or undefined. */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  }

  beforeAll(async () => {
    lab = newLab('met', HOSTS)
    await lab.up()
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, HOSTS)
  })
  afterAll(async () => {
    await lab?.down()
  })

  it('refuses a bad --metrics-addr with exit 2 before any agent starts', async () => {
    for (const bad of ['9323', 'localhost:9323', '127.0.0.1:99999']) {
      const r = await sw(lab, 1, 'agent', '--detach', '--metrics-addr', bad)
      expect(r.exitCode, bad).toBe(2)
      expect(r.stderr).toMatch(/invalid metrics address .*expected IPv4:PORT/)
    }
    expect((await lab.exec(1, ['pgrep', '-x', 'swarmnet-agent'])).exitCode).toBe(1)
  })

  it('serves the task transitions, entries and gossip of a running service', async () => {
    for (let h = 1; h <= HOSTS; h++) await swOk(lab, h, 'agent', '--detach', '--metrics-addr', ADDR)
    // the metrics answer before the node is in a cluster
    expect(sample(await scrape(1), 'swarmnet_dispatcher_sessions')).toBe(0)
    await swOk(lab, 1, 'init', '--advertise-addr', lab.hostAddress(1))
    const token = (await swOk(lab, 1, 'join-token', '-q', 'worker')).trim()
    await swOk(lab, 2, 'join', '--token', token, lab.hostAddress(1))
    await swOk(lab, 1, 'network', 'create', 'metnet')
    const net = (await userNetworks<{ id: string; name: string }>(lab, 1)).find((n) => n.name === 'metnet')
    expect(net).toBeDefined()
    await createWhoami(lab, 'web', HOSTS, 'metnet')
    await waitFor('2 running tasks', 60_000, async () =>
      settledRows(await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'web'), HOSTS),
    )

    // each host ran one task: it reported it running, and holds every entry of the network
    const texts = await waitFor(
      'every host to count its task running and hold both entries',
      30_000,
      async () => {
        const all = await Promise.all([1, 2].map(scrape))
        const ok = all.every(
          (t) =>
            (sample(t, 'swarmnet_task_transitions_total{state="running"}') ?? 0) >= 1 &&
            // both tasks, both nodes' LB addresses and the service's VIP record
            sample(t, `swarmnet_netdb_entries{network="${net?.id}"}`) === 2 * HOSTS + 1,
        )
        return ok ? all : undefined
      },
    )
    const [manager = '', worker = ''] = texts
    expect(sample(manager, 'swarmnet_dispatcher_sessions')).toBe(HOSTS)
    expect(sample(worker, 'swarmnet_dispatcher_sessions')).toBe(0)
    for (const t of texts) {
      expect(sample(t, 'swarmnet_gossip_messages_total{direction="in"}')).toBeGreaterThan(0)
      expect(sample(t, 'swarmnet_gossip_messages_total{direction="out"}')).toBeGreaterThan(0)
      expect(sample(t, 'swarmnet_gossip_peers{state="admitted"}')).toBe(1)
      expect(sample(t, 'swarmnet_kernel_entries_programmed_total')).toBeGreaterThan(0)
      expect(
        sample(t, 'swarmnet_reconcile_duration_seconds_count{kind="reconcile",outcome="ok"}'),
      ).toBeGreaterThan(0)
      expect(sample(t, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20)
      expect(sample(t, 'process_cpu_seconds_total')).toBeGreaterThan(0)
      // the agent runs with a small young generation (AGENT_NODE_FLAGS): 2 semi-spaces of ≤ 2 MiB
      expect(sample(t, 'nodejs_heap_space_size_total_bytes{space="new"}')).toBeLessThanOrEqual(4 * 2 ** 20)
    }

    // info shows the agent process's RSS and CPU time
    const info = await swJson<{ pid: number; agent?: { rssBytes: number; cpuSeconds: number } }>(
      lab,
      2,
      'info',
    )
    expect(info.agent?.rssBytes).toBeGreaterThan(10 * 2 ** 20)
    expect(info.agent?.cpuSeconds).toBeGreaterThan(0)
    expect(await swOk(lab, 2, 'info')).toMatch(/^Agent: +pid \d+, RSS \d+\.\d MiB, CPU time \d+\.\d s$/m)
  })
})
