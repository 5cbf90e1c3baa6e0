/**
 * Issue 17 acceptance on the lab: `service create` shows progress and returns only once every
 * task runs (with -d at once); a crash-looping service keeps the output of every attempt and
 * `service logs -f` shows a new attempt's line within 2 s; every verb exits 2 on a usage error
 * and 1 on a refused request, never with a schema validator's words.
 */
import type { Lab, LabProcess } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  dumpAgentLogs,
  formCluster,
  newLab,
  sw,
  swJson,
  swOk,
  type TaskJson,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'
import { USAGE_ERRORS, VALIDATOR_WORDING } from '../lib/usage.js'

const HOSTS = 2

describe('the CLI, docker style (lab of 2 hosts)', () => {
  let lab: Lab
  let token = ''
  const ps = (svc: string) => swJson<TaskJson[]>(lab, 1, 'service', 'ps', svc)

  beforeAll(async () => {
    lab = newLab('cli', HOSTS)
    await lab.up()
    token = await formCluster(lab, HOSTS)
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, HOSTS)
  })
  afterAll(async () => {
    await lab?.down()
  })

  it('service create prints progress and returns only once every task runs; -d returns at once', async () => {
    const r = await sw(
      lab,
      1,
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '2',
      '--',
      BIN,
      'whoami',
      '--port',
      '8080',
    )
    expect(r.exitCode, r.stderr).toBe(0)
    const id = r.stdout.split('\n')[0] ?? ''
    expect(id).toMatch(/^[a-z0-9]+$/)
    // progress from before the tasks ran to after, then docker's verify lines
    expect(r.stdout).toMatch(/^overall progress: 0 out of 2 tasks$/m)
    expect(r.stdout).toMatch(/^overall progress: 2 out of 2 tasks$/m)
    expect(r.stdout).toMatch(/^1\/2: running {3}\[={49}>\]$/m)
    expect(r.stdout).toMatch(/^2\/2: running {3}\[={49}>\]$/m)
    expect(r.stdout).toMatch(/^verify: Waiting \d seconds to verify that tasks are stable\.\.\.$/m)
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`verify: Service ${id} converged`)
    // it returned with both tasks running, no waiting here
    const rows = await ps('web')
    expect(rows.filter((t) => t.desiredState === 'running' && t.state === 'running')).toHaveLength(2)

    // scale waits too, and names what it scaled
    const s = await sw(lab, 1, 'service', 'scale', 'web=3')
    expect(s.exitCode, s.stderr).toBe(0)
    expect(s.stdout).toMatch(/^web scaled to 3\n/)
    expect(s.stdout).toMatch(/^overall progress: 3 out of 3 tasks$/m)
    expect(
      (await ps('web')).filter((t) => t.desiredState === 'running' && t.state === 'running'),
    ).toHaveLength(3)

    // -d: a service that can never converge, and the call still returns at once with its id
    const started = Date.now()
    const d = await sw(lab, 1, 'service', 'create', '-d', '--name', 'never', '--', 'sh', '-c', 'exit 1')
    try {
      expect(d.exitCode, d.stderr).toBe(0)
      expect(d.stdout.trim()).toMatch(/^[a-z0-9]+$/) // the id, and no progress
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      await sw(lab, 1, 'service', 'rm', 'never')
    }
  })

  it('a crash-looping service: logs show every attempt; -f shows a new attempt within 2 s', async () => {
    const script = 'echo "attempt $SWARMNET_TASK_ID $(date +%s%3N)"; sleep 0.3; exit 3'
    // a 1 s restart delay: the back-off (1, 2, 4, 8, 10 s) keeps new attempts coming within the follower's wait
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
      'sh',
      '-c',
      script,
    )
    await waitFor('3 failed attempts of crash', 60_000, async () =>
      (await ps('crash')).filter((t) => t.state === 'failed').length >= 3 ? true : undefined,
    )
    const out = await swOk(lab, 1, 'service', 'logs', 'crash')
    const seen = attempts(out)
    expect(seen.size, out).toBeGreaterThanOrEqual(3)
    for (const [task, line] of seen) {
      // docker's prefix: <service>.<slot>.<task id cut to 12>@<node>
      expect(line).toMatch(
        new RegExp(
          `^crash\\.1\\.${task.slice(0, 12)}@${lab.hostname(1)}|^crash\\.1\\.${task.slice(0, 12)}@${lab.hostname(2)}`,
        ),
      )
    }
    // -t: each line's time, close to the time the task wrote in it; --since leaves older lines out
    const stamped = (await swOk(lab, 1, 'service', 'logs', '-t', 'crash'))
      .split('\n')
      .filter((l) => l.includes('| attempt'))
    expect(stamped.length).toBeGreaterThanOrEqual(3)
    const written: number[] = []
    for (const line of stamped) {
      const m = /^(\S+Z) crash\.1\.\S+@\S+ {4}\| attempt \S+ (\d+)$/.exec(line)
      expect(m, line).not.toBeNull()
      const at = Date.parse(m?.[1] ?? '')
      written.push(Number(m?.[2]))
      expect(Math.abs(at - Number(m?.[2])), line).toBeLessThan(1_000)
    }
    const cut = Math.max(...written) - 1 // after every attempt but the newest
    const since = (await swOk(lab, 1, 'service', 'logs', '--since', new Date(cut).toISOString(), 'crash'))
      .split('\n')
      .filter((l) => l.includes('| attempt'))
    // the newest attempt seen (and any that started since), nothing older
    expect(since.length).toBeGreaterThanOrEqual(1)
    expect(since.some((l) => l.endsWith(` ${Math.max(...written)}`))).toBe(true)
    for (const l of since) expect(Number(/ (\d+)$/.exec(l)?.[1])).toBeGreaterThanOrEqual(Math.max(...written))

    // one task's output alone, by its id
    const [oneTask] = [...seen.keys()]
    const one = attempts(await swOk(lab, 1, 'service', 'logs', oneTask ?? ''))
    expect([...one.keys()]).toEqual([oneTask])

    let follower: LabProcess | undefined
    try {
      follower = await lab.spawn(1, [BIN, 'service', 'logs', '-f', 'crash'])
      const arrivals: Array<{ at: number; line: string }> = []
      let buffered = ''
      follower.stdout?.on('data', (chunk: Buffer) => {
        const at = Date.now()
        buffered += chunk.toString('utf8')
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) arrivals.push({ at, line })
      })
      const fresh = await waitFor('a new attempt in the followed output', 30_000, async () =>
        arrivals.find((a) => {
          const m = /\| attempt (\S+) (\d+)$/.exec(a.line)
          return m !== null && !seen.has(m[1] ?? '') ? a : undefined
        }),
      )
      const written = Number(/ (\d+)$/.exec(fresh.line)?.[1])
      expect(fresh.at - written, fresh.line).toBeLessThan(2_000)
      // the older attempts came first, whole
      expect(attempts(arrivals.map((a) => a.line).join('\n')).size).toBeGreaterThanOrEqual(seen.size)
    } finally {
      await follower?.kill()
    }
    await swOk(lab, 1, 'service', 'rm', 'crash')
  })

  it('every verb: a usage error exits 2, a refused request exits 1, both in plain words', async () => {
    for (const [verb, argv] of USAGE_ERRORS) {
      const r = await sw(lab, 1, ...argv)
      expect(r.exitCode, `${verb}: ${r.stderr}`).toBe(2)
      expect(r.stderr, verb).not.toMatch(VALIDATOR_WORDING)
    }
    const onHost2 = (await ps('web')).find((t) => t.node === lab.hostname(2) && t.state === 'running')
    expect(onHost2).toBeDefined()
    const refused: Array<[number, string[], RegExp]> = [
      [1, ['agent', '--detach'], /already running/],
      [1, ['init'], /already part of a swarm/],
      [1, ['join', '--token', token, lab.hostAddress(1)], /already part of a swarm/],
      [2, ['join-token', 'worker'], /not a swarm manager/],
      [1, ['leave'], /--force/],
      [2, ['node', 'ls'], /not a swarm manager/],
      [1, ['node', 'inspect', 'ghost'], /not found/],
      [1, ['node', 'update', '--availability', 'drain', 'ghost'], /not found/],
      [1, ['node', 'rm', 'ghost'], /not found/],
      [1, ['network', 'create', ''], /name: must not be empty/],
      [1, ['network', 'create', '--subnet', '10.0.0.0/33', 'bad'], /subnet/],
      [1, ['network', 'inspect', 'ghost'], /not found/],
      [1, ['network', 'rm', 'ghost'], /not found/],
      [1, ['service', 'create', '-d', '--name', 'web', '--', 'sleep', '1'], /web/],
      [1, ['service', 'create', '-d', '--name', 'x', '--network', 'ghost', '--', 'sleep', '1'], /not found/],
      [2, ['service', 'ls'], /not a swarm manager/],
      [1, ['service', 'ps', 'ghost'], /not found/],
      [1, ['service', 'inspect', 'ghost'], /not found/],
      [1, ['service', 'scale', 'ghost=2'], /not found/],
      [1, ['service', 'rm', 'ghost'], /not found/],
      [1, ['service', 'logs', 'ghost'], /no service or task ghost/],
      [1, ['exec', onHost2?.id ?? '', '--', 'true'], new RegExp(`runs on node ${lab.hostname(2)}`)],
      [1, ['endpoint', 'attach', 'ghost'], /not found/],
      [1, ['lab', 'status', '--name', 'nolab'], /no lab named/],
    ]
    for (const [host, argv, why] of refused) {
      const r = await sw(lab, host, ...argv)
      expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(1)
      expect(r.stderr, argv.join(' ')).toMatch(why)
      expect(r.stderr, argv.join(' ')).not.toMatch(VALIDATOR_WORDING)
    }
    expect((await swJson<unknown[]>(lab, 1, 'service', 'ls')).length).toBe(1)
  })

  it('formats, filters, node inspect self and network rm of several', async () => {
    expect((await swOk(lab, 1, 'service', 'ls', '--format', '{{.Name}} {{.Replicas}}')).trim()).toBe(
      'web 3/3',
    )
    expect(await swOk(lab, 1, 'service', 'ls', '--format', 'table {{.Name}}\\t{{.Mode}}')).toMatch(
      /^NAME {3}MODE\nweb {4}replicated\n?$/,
    )
    expect((await swOk(lab, 1, 'service', 'ls', '--filter', 'name=nope')).trim().split('\n')).toHaveLength(1)
    const onNode2 = await swOk(
      lab,
      1,
      'service',
      'ps',
      'web',
      '-f',
      `node=${lab.hostname(2)}`,
      '--format',
      '{{.Node}}',
    )
    expect(new Set(onNode2.trim().split('\n'))).toEqual(new Set([lab.hostname(2)]))
    const self = await swJson<Array<{ hostname: string; self: boolean }>>(lab, 1, 'node', 'inspect', 'self')
    expect(self.map((n) => [n.hostname, n.self])).toEqual([[lab.hostname(1), true]])
    expect((await swOk(lab, 1, 'node', 'inspect', '--format', '{{.hostname}}', 'self')).trim()).toBe(
      lab.hostname(1),
    )
    expect(
      (await swOk(lab, 1, 'node', 'ls', '--filter', 'role=worker', '--format', '{{.Hostname}}')).trim(),
    ).toBe(lab.hostname(2))
    await swOk(lab, 1, 'network', 'create', 'one')
    await swOk(lab, 1, 'network', 'create', 'two')
    const rm = await sw(lab, 1, 'network', 'rm', 'one', 'ghost', 'two')
    expect(rm.exitCode).toBe(1)
    expect(rm.stdout.trim()).toBe('one\ntwo')
    expect(rm.stderr).toMatch(/ghost/)
    expect(rm.stderr.trim().split('\n')).toHaveLength(1)
    expect(await userNetworks<unknown>(lab, 1)).toEqual([])
  })
})

/** task id → the first line of its output ("attempt <id> <ms>") in `service logs` output. */
function attempts(out: string): Map<string, string> {
  const seen = new Map<string, string>()
  for (const line of out.split('\n')) {
    const m = /\| attempt (\S+) \d+$/.exec(line)
    if (m?.[1] !== undefined && !seen.has(m[1])) seen.set(m[1], line)
  }
  return seen
}
