/**
 * Issue 5 acceptance on the lab: a 3-replica whoami service over an overlay, task-to-task
 * HTTP across hosts through `swarmnet exec`, scale down cleaning up, failover when a host
 * dies, and removal leaving nothing behind.
 */
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  dumpAgentLogs,
  formCluster,
  killSwarmnet,
  type NodeJson,
  newLab,
  nodesByHost,
  settledRows,
  sw,
  swJson,
  swOk,
  type TaskJson,
  taskLeftovers,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'

describe('services (lab of 3 hosts)', () => {
  let lab: Lab
  let vni = 0
  const hostOf = (hostname: string): number => Number(hostname.split('-').at(-1))
  /** `want` rows running and every other row settled; no row may be rejected (a failed start). */
  const running = async (want: number): Promise<TaskJson[] | undefined> => {
    const rows = await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'web')
    expect(rows.filter((t) => t.state === 'rejected')).toEqual([])
    return settledRows(rows, want)
  }
  const curlFrom = async (t: TaskJson, ip: string) =>
    sw(lab, hostOf(t.node), 'exec', t.id, '--', 'curl', '-s', '--max-time', '3', `http://${ip}:8080/`)
  const neighHas = async (host: number, ip: string): Promise<boolean> =>
    (await lab.exec(host, ['ip', '-n', `sn-ov-${vni}`, 'neigh', 'show', 'dev', 'vxlan0'])).stdout.includes(
      `${ip} `,
    )
  const snLeftovers = (h: number) => taskLeftovers(lab, h)

  beforeAll(async () => {
    lab = newLab('sv', 3)
    await lab.up()
    await formCluster(lab, 3)
    await swOk(lab, 1, 'network', 'create', 'appnet')
    vni = (await userNetworks<{ vni: number }>(lab, 1))[0]?.vni ?? 0
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 3)
  })
  afterAll(async () => {
    await lab?.down()
  })

  it('refuses bad service input and changes nothing', async () => {
    const bad: Array<[string[], RegExp]> = [
      [['--name', 'x', '--network', 'nope', '--', BIN, 'whoami'], /network nope not found/],
      [['--name', 'x', '--replicas', '-1', '--', BIN, 'whoami'], /replicas/i],
      [['--name', 'x', '--', ''], /command/i],
      [['--name', 'bad name', '--', BIN, 'whoami'], /name/i],
    ]
    for (const [args, why] of bad) {
      const r = await sw(lab, 1, 'service', 'create', '-d', ...args)
      expect(r.exitCode, args.join(' ')).not.toBe(0)
      expect(r.stderr).toMatch(why)
    }
    const scale = await sw(lab, 1, 'service', 'scale', '-d', 'ghost=2')
    expect(scale.exitCode).not.toBe(0)
    expect(scale.stderr).toMatch(/not found/)
    expect(await swJson<unknown[]>(lab, 1, 'service', 'ls')).toEqual([])
  })

  it('runs 3 whoami replicas, one per host, that all answer each other over the overlay', async () => {
    await swOk(
      lab,
      1,
      'service',
      'create',
      '-d',
      '--name',
      'web',
      '--replicas',
      '3',
      '--network',
      'appnet',
      '--',
      BIN,
      'whoami',
      '--port',
      '8080',
    )
    const dup = await sw(lab, 1, 'service', 'create', '-d', '--name', 'web', '--', BIN, 'whoami')
    expect(dup.exitCode).not.toBe(0)
    const tasks = await waitFor('3 running tasks', 60_000, () => running(3))
    expect(new Set(tasks.map((t) => t.node)).size).toBe(3)
    for (const from of tasks) {
      for (const to of tasks) {
        const ip = to.addresses[0]?.ip ?? ''
        const r = await waitFor(`${from.node} → ${to.node}`, 15_000, async () => {
          const x = await curlFrom(from, ip)
          return x.stdout.includes(to.id) ? x : undefined
        })
        expect(r.stdout).toContain('web')
      }
    }
    const ls = await swOk(lab, 1, 'service', 'ls')
    expect(ls).toMatch(/web\s+replicated\s+3\/3/)
    const logs = await swOk(lab, 1, 'service', 'logs', 'web')
    for (const t of tasks) expect(logs).toContain(`@${t.node}`)
    expect(logs).toContain('whoami listening on :8080')
  })

  it('scale web=1 removes the other tasks, their sandboxes and their entries elsewhere', async () => {
    const before = (await running(3)) as TaskJson[]
    await swOk(lab, 1, 'service', 'scale', '-d', 'web=1')
    const [kept] = await waitFor('1 running task', 30_000, () => running(1))
    const gone = before.filter((t) => t.id !== kept?.id)
    for (const t of gone) {
      const h = hostOf(t.node)
      await waitFor(`task ${t.id} cleaned on host ${h}`, 20_000, async () => {
        const ns = (await lab.exec(h, ['ip', 'netns'])).stdout
        const procs = (await lab.exec(h, ['pgrep', '-f', 'whoami'])).stdout.trim()
        return !ns.includes('sn-ep-') && procs === '' ? true : undefined
      })
      const keptHost = hostOf(kept?.node ?? '')
      await waitFor('entries withdrawn on the kept host', 10_000, async () =>
        (await neighHas(keptHost, t.addresses[0]?.ip ?? '')) ? undefined : true,
      )
    }
  })

  it('replaces the tasks of a host that dies, and the replacements answer', async () => {
    await swOk(lab, 1, 'service', 'scale', '-d', 'web=3')
    const tasks = await waitFor('3 running tasks again', 60_000, () => running(3))
    const dead = tasks.find((t) => t.node === lab.hostname(3)) as TaskJson
    expect(dead).toBeDefined()
    await lab.exec(3, ['ip', 'link', 'set', 'eth0', 'down'])
    await killSwarmnet(lab, 3)
    const t0 = Date.now()
    await waitFor('host 3 down', 25_000, async () =>
      (await nodesByHost(lab)).get(lab.hostname(3))?.status === 'down' ? true : undefined,
    )
    expect(Date.now() - t0).toBeLessThan(22_000)
    const now = await waitFor('3 tasks on hosts 1-2', 40_000, async () => {
      const r = await running(3)
      return r?.every((t) => t.node !== lab.hostname(3)) ? r : undefined
    })
    expect(Date.now() - t0).toBeLessThan(60_000)
    await waitFor('dead task entries gone from host 1', 20_000, async () =>
      (await neighHas(1, dead.addresses[0]?.ip ?? '')) ? undefined : true,
    )
    for (const from of now) {
      for (const to of now) {
        await waitFor(`${from.node} → ${to.node}`, 15_000, async () => {
          const x = await curlFrom(from, to.addresses[0]?.ip ?? '')
          return x.stdout.includes(to.id) ? true : undefined
        })
      }
    }
  })

  it('service rm and network rm leave nothing behind on the live hosts', async () => {
    await swOk(lab, 1, 'service', 'rm', 'web')
    await waitFor('network removable', 30_000, async () =>
      (await sw(lab, 1, 'network', 'rm', 'appnet')).exitCode === 0 ? true : undefined,
    )
    for (const h of [1, 2]) {
      await waitFor(`host ${h} clean`, 20_000, async () => ((await snLeftovers(h)) === '' ? true : undefined))
    }
    const nodes = await swJson<NodeJson[]>(lab, 1, 'node', 'ls')
    expect(nodes.length).toBe(3)
  })
})
