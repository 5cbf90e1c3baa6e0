/**
 * Issue 15 acceptance on the lab: rolling `service update` and `service rollback` of a
 * 4-replica whoami service on 3 hosts while a client task polls every task over the overlay,
 * start-first never below 4 replicas, the failure actions rollback and pause, and the restart
 * back-off of a crash loop.
 */
import { sandboxNamespace } from '@swarmnet/dataplane'
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  createWhoami,
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

interface Inspect {
  version?: number
  argv: string[]
  env: Record<string, string>
  updateStatus?: { state: string; message: string }
}

/** A failing command for `--args`: exits 3 at once. */
const CRASH = "/bin/sh -c 'exit 3'"

describe('rolling updates (lab of 3 hosts)', () => {
  let lab: Lab
  const hostOf = (hostname: string): number => Number(hostname.split('-').at(-1))
  const ps = (ref: string) => swJson<TaskJson[]>(lab, 1, 'service', 'ps', ref)
  const inspect = async (ref: string) =>
    (await swJson<Inspect[]>(lab, 1, 'service', 'inspect', ref))[0] as Inspect
  let client: TaskJson

  /** The web tasks that answer the client now, by task id (each running task's IP is asked). */
  const answering = async (): Promise<{ ids: Set<string>; running: number }> => {
    const rows = (await ps('web')).filter((t) => t.state === 'running')
    const ips = rows.flatMap((t) => t.addresses.map((a) => a.ip))
    const script = `${ips.map((ip) => `curl -s --max-time 1 http://${ip}:8080/ &`).join(' ')} wait`
    const r = await lab.exec(hostOf(client.node), [
      'ip',
      'netns',
      'exec',
      sandboxNamespace(client.id),
      'sh',
      '-c',
      script,
    ])
    const ids = new Set([...r.stdout.matchAll(/^Task: (\S+)$/gm)].map((m) => m[1] ?? ''))
    return { ids, running: rows.length }
  }

  /** Runs `fn` while sampling {@link answering} every 0.5 s; the samples taken meanwhile. */
  const sampled = async <T>(fn: () => Promise<T>) => {
    const samples: Array<{ answered: number; running: number }> = []
    let done = false
    const loop = (async () => {
      while (!done) {
        const start = Date.now()
        const a = await answering()
        samples.push({ answered: a.ids.size, running: a.running })
        await new Promise((r) => setTimeout(r, Math.max(0, 500 - (Date.now() - start))))
      }
    })()
    try {
      return { result: await fn(), samples }
    } finally {
      done = true
      await loop
    }
  }

  /** `service update` of web to a command that exits at once, with the failure action given. */
  const crashingUpdate = (action: string) =>
    sw(lab, 1, 'service', 'update', '--args', CRASH, '--update-failure-action', action, 'web')

  /** Every running web task's `printenv V` (undefined: not set). */
  const envV = async (): Promise<Array<string | undefined>> => {
    const rows = settledRows(await ps('web'), 4) ?? []
    expect(rows).toHaveLength(4)
    const out = []
    for (const t of rows) {
      const r = await sw(lab, hostOf(t.node), 'exec', t.id, '--', 'printenv', 'V')
      out.push(r.exitCode === 0 ? r.stdout.trim() : undefined)
    }
    return out
  }

  beforeAll(async () => {
    lab = newLab('up', 3)
    await lab.up()
    await formCluster(lab, 3)
    await swOk(lab, 1, 'network', 'create', 'appnet')
    await createWhoami(lab, 'web', 4, 'appnet')
    await createWhoami(lab, 'client', 1, 'appnet')
    client = await waitFor('the client task', 60_000, async () => settledRows(await ps('client'), 1)?.[0])
    await waitFor('4 web tasks answering', 60_000, async () =>
      (await answering()).ids.size === 4 ? true : undefined,
    )
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 3)
  })
  afterAll(async () => {
    await lab?.down()
  })

  it('refuses bad update input and changes nothing', async () => {
    const bad: Array<[string[], number, RegExp]> = [
      [['update', '--update-parallelism', '-1', 'web'], 2, /parallelism/],
      [['update', '--update-failure-action', 'explode', 'web'], 2, /failure-action/],
      [['update', '--publish-add', '0:8080', 'web'], 2, /port/],
      [['update', '--env-add', 'V=2', 'ghost'], 1, /not found/],
      [['rollback', 'web'], 1, /no previous spec/],
    ]
    for (const [args, code, why] of bad) {
      const r = await sw(lab, 1, 'service', ...args)
      expect(r.exitCode, args.join(' ')).toBe(code)
      expect(r.stderr).toMatch(why)
    }
    const s = await inspect('web')
    expect(s.version).toBe(1)
    expect(s.updateStatus).toBeUndefined()
  })

  it('--env-add V=2 --update-parallelism 1 --update-delay 1s: ≥ 3 tasks answer throughout, all end with V=2; rollback the same way', async () => {
    const up = await sampled(() =>
      swOk(
        lab,
        1,
        'service',
        'update',
        '--env-add',
        'V=2',
        '--update-parallelism',
        '1',
        '--update-delay',
        '1s',
        'web',
      ),
    )
    expect(up.samples.length).toBeGreaterThan(10)
    expect(Math.min(...up.samples.map((s) => s.answered))).toBeGreaterThanOrEqual(3)
    expect(await inspect('web')).toMatchObject({ env: { V: '2' }, updateStatus: { state: 'completed' } })
    expect(await envV()).toEqual(['2', '2', '2', '2'])

    const back = await sampled(() => swOk(lab, 1, 'service', 'rollback', 'web'))
    expect(back.samples.length).toBeGreaterThan(10)
    expect(Math.min(...back.samples.map((s) => s.answered))).toBeGreaterThanOrEqual(3)
    expect(await inspect('web')).toMatchObject({
      env: {},
      updateStatus: { state: 'rollback_completed', message: 'rollback completed' },
    })
    expect(await envV()).toEqual([undefined, undefined, undefined, undefined])
  })

  it('--update-order start-first: the running replicas never drop below 4', async () => {
    const up = await sampled(() =>
      swOk(lab, 1, 'service', 'update', '--env-add', 'V=3', '--update-order', 'start-first', 'web'),
    )
    expect(Math.min(...up.samples.map((s) => s.running))).toBeGreaterThanOrEqual(4)
    expect(Math.max(...up.samples.map((s) => s.running))).toBe(5)
    expect(await envV()).toEqual(['3', '3', '3', '3'])
  })

  it('a new command that exits at once: failure action rollback ends on the old spec, all running', async () => {
    const before = await inspect('web')
    const r = await crashingUpdate('rollback')
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stderr).toMatch(
      /service rolled back: rollback completed \(update rolled back due to failure or early termination of task/,
    )
    const s = await inspect('web')
    expect(s.argv).toEqual(before.argv)
    expect(s.updateStatus?.state).toBe('rollback_completed')
    expect(await envV()).toEqual(['3', '3', '3', '3'])
    expect((await answering()).ids.size).toBe(4)
  })

  it('failure action pause: updateStatus paused with the reason', async () => {
    const r = await crashingUpdate('pause')
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/update paused due to failure or early termination of task/)
    const s = await inspect('web')
    expect(s.updateStatus?.state).toBe('paused')
    expect(s.updateStatus?.message).toMatch(/^update paused due to failure or early termination of task \S+$/)
    // paused: the other slots keep the old spec and answer
    expect((await answering()).ids.size).toBeGreaterThanOrEqual(3)
  })

  it('a health check that starts failing after 5 s: unhealthy, out of the VIP, replaced; traffic only once healthy', async () => {
    // each task notes its start; the check fails once the task is 5 s old
    const born = '/tmp/up-born-$SWARMNET_TASK_ID'
    await swOk(
      lab,
      1,
      'service',
      'create',
      '-d',
      '--name',
      'hc',
      '--network',
      'appnet',
      '--restart-delay',
      '1s',
      '--health-interval',
      '2s',
      '--health-retries',
      '1',
      '--health-cmd',
      `test $(( $(date +%s) - $(cat ${born}) )) -lt 5`,
      '--',
      '/bin/sh',
      '-c',
      `date +%s > ${born}; exec ${BIN} whoami --port 8080`,
    )
    const vip = (
      await swJson<Array<{ virtualIPs: Array<{ addr: string }> }>>(lab, 1, 'service', 'inspect', 'hc')
    )[0]?.virtualIPs[0]?.addr.split('/')[0]
    const viaVip = async (): Promise<string | undefined> => {
      const r = await lab.exec(hostOf(client.node), [
        'ip',
        'netns',
        'exec',
        sandboxNamespace(client.id),
        'curl',
        '-s',
        '--max-time',
        '1',
        `http://${vip}:8080/`,
      ])
      return /^Task: (\S+)$/m.exec(r.stdout)?.[1]
    }
    const first = await waitFor('hc.1 healthy', 30_000, async () =>
      (await ps('hc')).find((t) => t.state === 'running' && t.health === 'healthy'),
    )
    expect(first.currentState).toMatch(/ \(healthy\)$/)
    expect(await viaVip()).toBe(first.id)
    // a task still starting (its check has not passed yet) gets no traffic through the VIP
    const starting = new Set<string>()
    let servedWhileStarting = 0
    const failed = await waitFor(
      'hc.1 unhealthy, failed and replaced by a healthy task',
      60_000,
      async () => {
        const before = await ps('hc')
        const answer = await viaVip()
        const after = await ps('hc')
        const s1 = before.filter((t) => t.state === 'running' && t.health === 'starting').map((t) => t.id)
        for (const id of s1)
          if (after.some((t) => t.id === id && t.state === 'running' && t.health === 'starting')) {
            starting.add(id)
            if (answer === id) servedWhileStarting++
          }
        const old = after.find((t) => t.id === first.id)
        const next = after.find((t) => t.id !== first.id && t.state === 'running' && t.health === 'healthy')
        return old?.state === 'failed' && next !== undefined ? old : undefined
      },
      300,
    )
    expect(failed.error).toMatch(/unhealthy/)
    expect(starting.size).toBeGreaterThan(0)
    expect(servedWhileStarting).toBe(0)
  })

  it('service update --constraint-add moves the tasks (placement flags plugged into update)', async () => {
    await createWhoami(lab, 'pl', 2, 'appnet')
    await waitFor('pl running', 60_000, async () => settledRows(await ps('pl'), 2))
    const target = lab.hostname(2)
    await swOk(lab, 1, 'service', 'update', '-d', '--constraint-add', `node.hostname==${target}`, 'pl')
    const s = await swJson<Array<{ placement: { constraints?: string[] } }>>(
      lab,
      1,
      'service',
      'inspect',
      'pl',
    )
    expect(s[0]?.placement.constraints).toEqual([`node.hostname==${target}`])
    await waitFor('both pl tasks on the target host', 60_000, async () => {
      const rows = settledRows(await ps('pl'), 2)
      return rows?.every((t) => t.node === target) ? rows : undefined
    })
  })

  it('a crash loop: the gaps between restarts of a slot double (restart delay 1s)', async () => {
    await swOk(
      lab,
      1,
      'service',
      'create',
      '-d',
      '--name',
      'crash',
      '--restart-delay',
      '1s',
      '--',
      '/bin/sh',
      '-c',
      'exit 1',
    )
    const created = await waitFor(
      '5 attempts of crash.1',
      60_000,
      async () => {
        const rows = await ps('crash')
        const times = rows.map((t) => Date.parse(t.createdAt ?? '')).sort((a, b) => a - b)
        return times.length >= 5 ? times : undefined
      },
      1_000,
    )
    const gaps = created.slice(1).map((t, i) => t - (created[i] ?? 0))
    // 1 s, 2 s, 4 s, 8 s after each failure, plus the start and the 1 s orchestrator tick
    for (const [i, gap] of gaps.slice(0, 4).entries()) {
      expect(gap, `gaps ${gaps}`).toBeGreaterThanOrEqual(1000 * 2 ** i)
      expect(gap, `gaps ${gaps}`).toBeLessThan(1000 * 2 ** i + 3000)
    }
  })
})
