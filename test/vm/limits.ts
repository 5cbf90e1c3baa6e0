/**
 * Issue 16 on a formed VM cluster (Debian's cloud kernel: cgroup v2, the memory and cpu
 * controllers on the unified hierarchy): `info` says v2; a task over `--limit-memory 64M` is
 * OOM-killed (memory.events `oom_kill`) and shows `failed` with the reason; a busy loop under
 * `--limit-cpu 0.2` gets at most 25 % of a core, read from its cgroup's `cpu.stat`
 * `usage_usec` over a measured window; the task cgroups go with the service.
 * Written for the VM suite; the lead runs it (under TCG a task start costs tens of seconds).
 */
import type { Lab } from '@swarmnet/lab'
import { expect } from 'vitest'
import { type TaskJson, waitFor } from '../lib/cluster.js'
import { since, vswJson, vswOk } from './lib.js'

interface Info {
  cgroup?: { mode: string; paths: Record<string, string> }
}

export async function limitsOnV2(lab: Lab): Promise<Record<string, number>> {
  const info = await vswJson<Info>(lab, 1, 'info')
  expect(info.cgroup?.mode).toBe('v2')
  const here = `node.hostname==${lab.hostname(1)}`
  // 200 MiB in one "line": tail keeps it all in memory (busybox's and coreutils' alike)
  await vswOk(
    lab,
    1,
    'service',
    'create',
    '-d',
    '--name',
    'hog',
    '--limit-memory',
    '64M',
    '--restart-condition',
    'none',
    '--constraint',
    here,
    '--',
    'sh',
    '-c',
    'head -c 209715200 /dev/zero | tail',
  )
  return limitScenario(lab, here)
}

async function limitScenario(lab: Lab, here: string): Promise<Record<string, number>> {
  const t0 = Date.now()
  const ps = (name: string) => vswJson<TaskJson[]>(lab, 1, 'service', 'ps', name)
  const failed = await waitFor('the task over its memory limit failed', 300_000, async () => {
    const [t] = await ps('hog')
    return t?.state === 'failed' ? t : undefined
  })
  expect(failed.error).toContain('OOM killed: the task reached its memory limit')
  await vswOk(lab, 1, 'service', 'rm', 'hog')
  const oomMs = since(t0)

  await vswOk(
    lab,
    1,
    'service',
    'create',
    '-d',
    '--name',
    'spin',
    '--limit-cpu',
    '0.2',
    '--constraint',
    here,
    '--',
    'sh',
    '-c',
    'while :; do :; done',
  )
  const task = await waitFor('the busy loop running', 300_000, async () => {
    const [t] = await ps('spin')
    return t?.state === 'running' ? t : undefined
  })
  const info = await vswJson<Info>(lab, 1, 'info')
  const file = `${info.cgroup?.paths.unified}/${task.id}/cpu.stat`
  const usage = async () =>
    Number(/^usage_usec (\d+)$/m.exec((await lab.exec(1, ['cat', file])).stdout)?.[1] ?? NaN)
  const w0 = performance.now()
  const u0 = await usage()
  await waitFor('a 5 s window', 30_000, async () => (performance.now() - w0 >= 5_000 ? true : undefined), 500)
  const share = ((await usage()) - u0) / ((performance.now() - w0) * 1000)
  console.log(`VM busy loop under --limit-cpu 0.2: ${(share * 100).toFixed(1)} % of one core`)
  expect(share).toBeGreaterThan(0.02)
  expect(share).toBeLessThanOrEqual(0.25)
  await vswOk(lab, 1, 'service', 'rm', 'spin')
  await waitFor('the task cgroup removed', 120_000, async () =>
    (await lab.exec(1, ['test', '-e', file])).exitCode !== 0 ? true : undefined,
  )
  return { oomMs, cpuLimitMs: since(t0) }
}
