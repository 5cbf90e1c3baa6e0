/**
 * Issue 16 acceptance on the lab: placement constraints (hostname, labels), node labels,
 * spread preferences, max replicas per node, reservations against node capacity, and limits
 * enforced by the kernel through cgroups — a task over its memory limit is OOM-killed and
 * shows `failed` with the reason, a busy loop under `--limit-cpu 0.2` gets at most 25 % of a
 * core, measured from its cgroup's CPU counter.
 */
import { readdir } from 'node:fs/promises'
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  dumpAgentLogs,
  formCluster,
  newLab,
  settledRows,
  sw,
  swJson,
  swOk,
  type TaskJson,
  waitFor,
} from '../lib/cluster.js'

interface NodeInspect {
  id: string
  hostname: string
  labels: Record<string, string>
  resources?: { nanoCpus: number; memoryBytes: number }
}

describe('placement and resource limits (lab of 3 hosts)', () => {
  let lab: Lab
  let labName = ''
  const ps = (service: string) => swJson<TaskJson[]>(lab, 1, 'service', 'ps', service)
  /** `want` tasks running (no network), every other row over; undefined until then. */
  const running = async (service: string, want: number) => settledRows(await ps(service), want, 0)
  const create = (name: string, ...args: string[]) =>
    swOk(lab, 1, 'service', 'create', '-d', '--name', name, ...args)
  const hostsOf = (rows: readonly TaskJson[]) => rows.map((t) => t.node).sort()

  beforeAll(async () => {
    lab = newLab('pl', 3)
    labName = lab.name
    await lab.up()
    await formCluster(lab, 3)
    await waitFor('3 ready nodes reporting their capacity', 60_000, async () => {
      const nodes = await swJson<NodeInspect[]>(lab, 1, 'node', 'ls')
      if (nodes.length !== 3) return undefined
      const inspected = JSON.parse(
        await swOk(lab, 1, 'node', 'inspect', ...nodes.map((n) => n.id)),
      ) as NodeInspect[]
      return inspected.every((n) => (n.resources?.memoryBytes ?? 0) > 0) ? true : undefined
    })
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 3)
  })
  afterAll(async () => {
    await lab?.down()
    // the machine's v1 hierarchies keep no cgroup of the lab's hosts
    for (const c of ['memory', 'cpu', 'cpuacct']) {
      const left = await readdir(`/sys/fs/cgroup/${c}`).catch(() => [] as string[])
      expect(left.filter((n) => n.startsWith(`swarmnet-${labName}-`))).toEqual([])
    }
  })

  it('refuses bad input with a clear usage error and creates nothing', async () => {
    const bad: Array<[string[], RegExp]> = [
      [['--constraint', 'node.zone==a'], /unknown attribute 'node\.zone'/],
      [['--constraint', 'node.hostname=x'], /expected ATTRIBUTE==VALUE/],
      [['--limit-memory', '4M'], /minimum allowed is 6 MB/],
      [['--limit-cpu', '0'], /invalid --limit-cpu '0'/],
      [['--reserve-memory', '64Q'], /invalid --reserve-memory '64Q'/],
      [['--placement-pref', 'spread=node.hostname'], /node\.labels\.KEY/],
    ]
    for (const [args, why] of bad) {
      const r = await sw(
        lab,
        1,
        'service',
        'create',
        '-d',
        '--name',
        'bad',
        ...args,
        '--',
        'sleep',
        'infinity',
      )
      expect(r.exitCode, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(why)
    }
    const rm = await sw(lab, 1, 'node', 'update', '--label-rm', 'nope', lab.hostname(2))
    expect(rm.exitCode).toBe(1)
    expect(rm.stderr).toContain("key nope doesn't exist in node's labels")
    expect(await swJson<unknown[]>(lab, 1, 'service', 'ls')).toEqual([])
  })

  it('--constraint node.hostname==lab-2: every task there', async () => {
    await create(
      'pin',
      '--replicas',
      '3',
      '--constraint',
      `node.hostname==${lab.hostname(2)}`,
      '--',
      'sleep',
      'infinity',
    )
    const rows = await waitFor('3 tasks running', 60_000, () => running('pin', 3))
    expect(hostsOf(rows)).toEqual([lab.hostname(2), lab.hostname(2), lab.hostname(2)])
    await swOk(lab, 1, 'service', 'rm', 'pin')
  })

  it('node labels: zone=a on two hosts, tasks only there; spread a,a,b → 2 and 2; max 1 per node → 1 pending', async () => {
    await swOk(lab, 1, 'node', 'update', '--label-add', 'zone=a', lab.hostname(1))
    await swOk(lab, 1, 'node', 'update', '--label-add', 'zone=a', '--label-add', 'ssd', lab.hostname(2))
    await swOk(lab, 1, 'node', 'update', '--label-add', 'zone=b', lab.hostname(3))
    const [n2] = JSON.parse(await swOk(lab, 1, 'node', 'inspect', lab.hostname(2))) as NodeInspect[]
    expect(n2?.labels).toEqual({ zone: 'a', ssd: '' })
    const inA = await swJson<NodeInspect[]>(lab, 1, 'node', 'ls', '--filter', 'label=zone=a')
    expect(inA.map((n) => n.hostname).sort()).toEqual([lab.hostname(1), lab.hostname(2)])

    await create('za', '--replicas', '4', '--constraint', 'node.labels.zone==a', '--', 'sleep', 'infinity')
    const za = await waitFor('4 tasks in zone a', 60_000, () => running('za', 4))
    expect(new Set(hostsOf(za))).toEqual(new Set([lab.hostname(1), lab.hostname(2)]))

    await create(
      'spread',
      '--replicas',
      '4',
      '--placement-pref',
      'spread=node.labels.zone',
      '--',
      'sleep',
      'infinity',
    )
    const spread = await waitFor('4 spread tasks', 60_000, () => running('spread', 4))
    expect(spread.filter((t) => t.node === lab.hostname(3))).toHaveLength(2)
    expect(spread.filter((t) => t.node !== lab.hostname(3))).toHaveLength(2)

    await create('one', '--replicas', '4', '--replicas-max-per-node', '1', '--', 'sleep', 'infinity')
    const pending = await waitFor('3 running and 1 pending with the reason', 60_000, async () => {
      const rows = await ps('one')
      const run = rows.filter((t) => t.state === 'running')
      const wait = rows.filter((t) => t.state === 'pending')
      return run.length === 3 && wait.length === 1 && new Set(hostsOf(run)).size === 3 ? wait : undefined
    })
    expect(pending[0]?.error).toBe('no suitable node (max replicas per node limit exceed)')

    // a label taken away moves the tasks that relied on it
    await swOk(lab, 1, 'node', 'update', '--label-rm', 'zone', lab.hostname(2))
    const moved = await waitFor('zone-a tasks all on lab-1', 60_000, async () => {
      const rows = await running('za', 4)
      return rows?.every((t) => t.node === lab.hostname(1)) ? rows : undefined
    })
    expect(hostsOf(moved)).toEqual(Array(4).fill(lab.hostname(1)))
    // the tasks that had to go say why
    const gone = (await ps('za')).filter((t) => t.node === lab.hostname(2))
    expect(gone.length).toBeGreaterThan(0)
    expect(gone.every((t) => t.desiredState === 'shutdown')).toBe(true)
    await swOk(lab, 1, 'service', 'rm', 'za', 'spread', 'one')
  })

  it('--reserve-memory larger than any node: pending with the reason', async () => {
    await create('huge', '--reserve-memory', '100T', '--', 'sleep', 'infinity')
    const row = await waitFor('a pending task with the reason', 30_000, async () => {
      const [t] = await ps('huge')
      return t?.state === 'pending' && t.error !== '' ? t : undefined
    })
    expect(row.error).toBe('no suitable node (insufficient resources on 3 nodes)')
    await swOk(lab, 1, 'service', 'rm', 'huge')
  })

  it('--limit-memory 64M and a task that allocates 200 MB: OOM-killed by the kernel, failed with the reason', async () => {
    const info = await swJson<{ cgroup?: { mode: string; paths: Record<string, string> } }>(lab, 3, 'info')
    expect(info.cgroup?.mode).toMatch(/^v[12]$/)
    await create(
      'hog',
      '--limit-memory',
      '64M',
      '--restart-condition',
      'none',
      '--constraint',
      `node.hostname==${lab.hostname(3)}`,
      '--',
      'sh',
      '-c',
      'head -c 200m /dev/zero | tail',
    )
    const row = await waitFor('the task failed', 60_000, async () => {
      const [t] = await ps('hog')
      return t?.state === 'failed' ? t : undefined
    })
    expect(row.error).toContain('OOM killed: the task reached its memory limit')
    await swOk(lab, 1, 'service', 'rm', 'hog')
  })

  it('--limit-cpu 0.2 and a busy loop: at most 25 % of one core, from its cgroup counter', async () => {
    await create(
      'spin',
      '--limit-cpu',
      '0.2',
      '--constraint',
      `node.hostname==${lab.hostname(3)}`,
      '--',
      'sh',
      '-c',
      'while :; do :; done',
    )
    const [task] = await waitFor('the busy loop running', 60_000, () => running('spin', 1))
    const info = await swJson<{ cgroup?: { mode: string; paths: Record<string, string> } }>(lab, 3, 'info')
    const paths = info.cgroup?.paths ?? {}
    const file =
      info.cgroup?.mode === 'v2'
        ? `${paths.unified}/${task?.id}/cpu.stat`
        : `${paths.cpuacct}/${task?.id}/cpuacct.usage`
    const usageUs = async (): Promise<number> => {
      const text = (await lab.exec(3, ['cat', file])).stdout
      const v2 = /^usage_usec (\d+)$/m.exec(text)?.[1]
      return v2 !== undefined ? Number(v2) : Math.floor(Number(text.trim()) / 1000)
    }
    const t0 = performance.now()
    const u0 = await usageUs()
    // a measured window of at least 3 s: poll the clock, then read the counter again
    await waitFor(
      'a 3 s window',
      10_000,
      async () => (performance.now() - t0 >= 3_000 ? true : undefined),
      200,
    )
    const u1 = await usageUs()
    const share = (u1 - u0) / ((performance.now() - t0) * 1000)
    console.log(`busy loop under --limit-cpu 0.2: ${(share * 100).toFixed(1)} % of one core`)
    expect(share).toBeGreaterThan(0.05) // it does run
    expect(share).toBeLessThanOrEqual(0.25)
    await swOk(lab, 1, 'service', 'rm', 'spin')
    // its cgroup goes with it
    await waitFor('the task cgroup removed', 30_000, async () =>
      (await lab.exec(3, ['test', '-e', file])).exitCode !== 0 ? true : undefined,
    )
  })

  it('a node that leaves removes its parent cgroups', async () => {
    const info = await swJson<{ cgroup?: { paths: Record<string, string> } }>(lab, 3, 'info')
    const parents = Object.values(info.cgroup?.paths ?? {})
    expect(parents.length).toBeGreaterThan(0)
    for (const p of parents) expect((await lab.exec(3, ['test', '-d', p])).exitCode).toBe(0)
    // --force: a worker's plain leave can lose the manager's answer (ECONNRESET: its session is
    // closed as it is removed), which is not what this checks
    await swOk(lab, 3, 'leave', '--force')
    for (const p of parents) expect((await lab.exec(3, ['test', '-e', p])).exitCode, p).not.toBe(0)
  })
})
