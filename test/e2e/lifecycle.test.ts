/**
 * Issue 8 acceptance on a lab of 4 hosts: tasks start once. Every task row is checked, not
 * only the running ones; the agents' counters of rejected/failed transitions stay 0; no two
 * running tasks share an IP; nothing is left behind; a worker agent killed mid-scale and a
 * manager outage of 60 s neither lose nor restart healthy tasks.
 */
import { sandboxNamespace } from '@swarmnet/dataplane'
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  badRows,
  createWhoami,
  curlFromTask,
  dumpAgentLogs,
  duplicateIps,
  formCluster,
  newLab,
  nodesByHost,
  settledRows,
  sw,
  swJson,
  swOk,
  type TaskJson,
  taskFailures,
  taskLeftovers,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'

const HOSTS = 4

describe('task lifecycle (lab of 4 hosts)', () => {
  let lab: Lab
  let vni = 0
  const ps = (svc: string) => swJson<TaskJson[]>(lab, 1, 'service', 'ps', svc)
  const create = (name: string, replicas: number) => createWhoami(lab, name, replicas, 'appnet')
  /** Waits until every row of `svc` settles with `want` running (returned); no duplicate IP at any poll. */
  const settle = (svc: string, want: number, timeoutMs: number) =>
    waitFor(`${svc}: ${want} running, every row settled`, timeoutMs, async () => {
      const rows = await ps(svc)
      expect(duplicateIps(rows)).toEqual([])
      return settledRows(rows, want)
    })
  const leftovers = (h: number) => taskLeftovers(lab, h)
  const nft = async (h: number) => (await lab.exec(h, ['nft', 'list', 'ruleset'])).stdout
  const fdb = async (h: number) =>
    (await lab.exec(h, ['bridge', '-n', `sn-ov-${vni}`, 'fdb', 'show', 'dev', 'vxlan0'])).stdout
      .split('\n')
      .filter((l) => l.includes('permanent') && l.startsWith('02:42'))
      .sort()
  const neigh = async (h: number) =>
    (await lab.exec(h, ['ip', '-n', `sn-ov-${vni}`, 'neigh', 'show', 'dev', 'vxlan0'])).stdout
      .split('\n')
      .filter((l) => l.includes('PERMANENT'))
      .sort()
  const managerLog = async () =>
    (await lab.exec(1, ['cat', '/var/log/swarmnet/agent.log'])).stdout.split('\n')
  const agentPid = async (h: number) => (await swJson<{ pid: number }>(lab, h, 'info')).pid

  beforeAll(async () => {
    lab = newLab('lc', HOSTS)
    await lab.up()
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, HOSTS)
  })
  afterAll(async () => {
    await lab?.down()
  })

  it('refuses bad pools at init and changes nothing', async () => {
    const bad: Array<[string[], RegExp]> = [
      [['--default-addr-pool', '10.0.0.0/33'], /pool|prefix|CIDR/i],
      [['--default-addr-pool', '10.0.0.0/16', '--default-addr-pool-mask-length', '8'], /subnet size|mask/i],
      [['--default-addr-pool', '192.0.2.0/24'], /contains this node's address/],
      [['--default-addr-pool', '127.0.0.0/8'], /loopback/],
    ]
    for (const [args, why] of bad) {
      const r = await sw(lab, 1, 'init', '--advertise-addr', lab.hostAddress(1), ...args)
      expect(r.exitCode, args.join(' ')).not.toBe(0)
      expect(r.stderr, args.join(' ')).toMatch(why)
      expect((await swJson<{ state: string }>(lab, 1, 'info')).state).toBe('inactive')
    }
    await formCluster(lab, HOSTS)
  })

  it('refuses subnets over the underlay or special ranges and changes nothing', async () => {
    for (const subnet of ['192.0.2.0/24', '127.0.0.0/24', '224.0.0.0/24', '169.254.0.0/24']) {
      const r = await sw(lab, 1, 'network', 'create', '--subnet', subnet, 'bad')
      expect(r.exitCode, subnet).not.toBe(0)
      expect(r.stderr, subnet).toMatch(/underlay|range/)
    }
    expect(await userNetworks<unknown>(lab, 1)).toEqual([])
    await swOk(lab, 1, 'network', 'create', 'appnet')
    vni = (await userNetworks<{ vni: number }>(lab, 1))[0]?.vni ?? 0
  })

  it('10 × service create --replicas 3 on 3 hosts: exactly 3 rows each, all running, none rejected', async () => {
    await swOk(lab, 1, 'node', 'update', '--availability', 'drain', lab.hostname(4))
    const clean = async () => {
      for (let h = 1; h <= HOSTS; h++)
        await waitFor(`host ${h} clean`, 30_000, async () => ((await leftovers(h)) === '' ? true : undefined))
    }
    let rulesAfterFirst: string[] = []
    for (let i = 0; i < 10; i++) {
      await create(`w${i}`, 3)
      const rows = await settle(`w${i}`, 3, 60_000)
      expect(rows).toHaveLength(3)
      expect(new Set(rows.map((t) => t.node)).size).toBe(3)
      await swOk(lab, 1, 'service', 'rm', `w${i}`)
      if (i === 0) {
        await clean()
        rulesAfterFirst = await Promise.all([1, 2, 3].map(nft))
      }
    }
    await clean()
    // the node-wide gateway rules stay; nothing per task is left
    expect(await Promise.all([1, 2, 3].map(nft))).toEqual(rulesAfterFirst)
    expect(Object.values(await taskFailures(lab, HOSTS))).toEqual([0, 0, 0, 0])
    await swOk(lab, 1, 'node', 'update', '--availability', 'active', lab.hostname(4))
  })

  it('scale 0 → 20 → 0 → 20 on 4 hosts: no duplicate IP, every row settles in 30 s, spread ≤ 6, no node Down', async () => {
    await create('web', 0)
    const downLines = async () => (await managerLog()).filter((l) => l.includes('"node down"')).length
    const downBefore = await downLines()
    // every node stays ready throughout: watched from the CLI and from the manager's own log
    const notReady: string[] = []
    let watching = true
    const watcher = (async () => {
      while (watching) {
        for (const n of (await nodesByHost(lab)).values())
          if (n.status !== 'ready') notReady.push(`${n.hostname}: ${n.status}`)
        await new Promise((r) => setTimeout(r, 250))
      }
    })()
    try {
      for (const n of [20, 0, 20]) {
        await swOk(lab, 1, 'service', 'scale', '-d', `web=${n}`)
        await settle('web', n, 30_000)
      }
    } finally {
      watching = false
      await watcher
    }
    expect(notReady).toEqual([])
    expect(await downLines()).toBe(downBefore)
    const rows = await ps('web')
    expect(badRows(rows)).toEqual([])
    const perNode = new Map<string, number>()
    for (const t of rows.filter((r) => r.desiredState === 'running'))
      perNode.set(t.node, (perNode.get(t.node) ?? 0) + 1)
    expect(Math.max(...perNode.values())).toBeLessThanOrEqual(6)
    expect(Object.values(await taskFailures(lab, HOSTS))).toEqual([0, 0, 0, 0])
  })

  it('scale 20 → 0 → 30 → 0 → 30: nothing rejected or failed, no duplicate IP', async () => {
    for (const n of [0, 30, 0, 30]) {
      await swOk(lab, 1, 'service', 'scale', '-d', `web=${n}`)
      await settle('web', n, 45_000)
    }
    expect(badRows(await ps('web'))).toEqual([])
    expect(Object.values(await taskFailures(lab, HOSTS))).toEqual([0, 0, 0, 0])
    await swOk(lab, 1, 'service', 'scale', '-d', 'web=20')
    await settle('web', 20, 30_000)
  })

  it('a worker agent killed -9 during scale web=0 → 20 comes back: 20 running, no duplicate IP, no leak', async () => {
    await swOk(lab, 1, 'service', 'scale', '-d', 'web=0')
    await settle('web', 0, 30_000)
    const pid = await agentPid(3)
    await swOk(lab, 1, 'service', 'scale', '-d', 'web=20')
    // once host 3 is starting tasks, its agent dies
    await waitFor('tasks assigned to host 3', 20_000, async () =>
      (await ps('web')).some((t) => t.node === lab.hostname(3) && t.desiredState === 'running')
        ? true
        : undefined,
    )
    await lab.exec(3, ['kill', '-9', String(pid)])
    await swOk(lab, 3, 'agent', '--detach')
    const rows = await settle('web', 20, 90_000)
    // every sandbox on a host belongs to a task that runs there
    for (let h = 1; h <= HOSTS; h++) {
      const mine = new Set(rows.filter((t) => t.node === lab.hostname(h)).map((t) => sandboxNamespace(t.id)))
      await waitFor(`host ${h}: only its running tasks' sandboxes`, 30_000, async () => {
        const ns = (await lab.exec(h, ['ip', 'netns'])).stdout
          .split('\n')
          .map((l) => l.split(' ')[0] ?? '')
          .filter((n) => n.startsWith('sn-ep-'))
        return ns.length === mine.size ? true : undefined
      })
    }
  })

  it('the manager agent stopped for 60 s: tasks keep answering, no entry withdrawn, none restarted', async () => {
    const before = settledRows(await ps('web'), 20) as TaskJson[]
    const from = before.find((t) => t.node === lab.hostname(2)) as TaskJson
    const entries = { fdb: await fdb(2), neigh: await neigh(2) }
    expect(entries.fdb.length).toBeGreaterThan(0)
    const pid = await agentPid(1)
    await lab.exec(1, ['kill', '-9', String(pid)])
    const curlAll = async () => {
      for (const t of before) {
        const r = await lab.exec(2, curlFromTask(from.id, t.addresses[0]?.ip ?? '', 3))
        expect(r.stdout, `${t.id} at ${t.addresses[0]?.ip}`).toContain(t.id)
      }
    }
    const t0 = Date.now()
    await curlAll()
    // wait out the outage on the clock of the test, checking on the way
    await waitFor(
      '60 s of manager outage',
      90_000,
      async () => {
        await curlAll()
        expect(await fdb(2)).toEqual(entries.fdb)
        expect(await neigh(2)).toEqual(entries.neigh)
        return Date.now() - t0 >= 60_000 ? true : undefined
      },
      5_000,
    )
    await swOk(lab, 1, 'agent', '--detach')
    await waitFor('all nodes ready', 60_000, async () =>
      [...(await nodesByHost(lab)).values()].every((n) => n.status === 'ready') ? true : undefined,
    )
    const after = await settle('web', 20, 30_000)
    expect(after.map((t) => t.id).sort()).toEqual(before.map((t) => t.id).sort())
    await curlAll()
  })

  it('service rm leaves no namespace, veth, nft rule or process on any host', async () => {
    await swOk(lab, 1, 'service', 'rm', 'web')
    for (let h = 1; h <= HOSTS; h++)
      await waitFor(`host ${h} clean`, 30_000, async () => ((await leftovers(h)) === '' ? true : undefined))
    await waitFor('network removable', 30_000, async () =>
      (await sw(lab, 1, 'network', 'rm', 'appnet')).exitCode === 0 ? true : undefined,
    )
  })
})
