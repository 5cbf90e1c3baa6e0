/**
 * Helpers of the VM suite: a VM lab with a unique name, the CLI inside a VM (on PATH there,
 * from the read-only code disk), and what to show when a test failed. Everything under TCG
 * is slow: CLI calls get minutes, conditions are awaited with waitFor, never with sleeps.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createLab, type ExecResult, type Lab, vmConsoleTail } from '@swarmnet/lab'
import { silentLogger } from '@swarmnet/logger'
import { expect } from 'vitest'
import { curlFromTask, waitFor } from '../lib/cluster.js'

interface TaskJson {
  id: string
  node: string
  desiredState: string
  state: string
  addresses: Array<{ network: string; ip: string }>
}

/** The CLI inside a VM host. */
export const VM_BIN = '/opt/swarmnet/bin/swarmnet'

export function newVmLab(hosts: number): Lab {
  return createLab(
    { logger: silentLogger },
    { name: `vmt${randomBytes(3).toString('hex')}`.slice(0, 8), hosts, vm: true },
  )
}

export async function vsw(lab: Lab, host: number, ...args: string[]): Promise<ExecResult> {
  return lab.exec(host, [VM_BIN, ...args], { signal: AbortSignal.timeout(240_000) })
}

export async function vswOk(lab: Lab, host: number, ...args: string[]): Promise<string> {
  const r = await vsw(lab, host, ...args)
  if (r.exitCode !== 0) {
    throw new Error(`swarmnet ${args.join(' ')} on VM ${host} exited ${r.exitCode}: ${r.stderr}${r.stdout}`)
  }
  return r.stdout
}

export async function vswJson<T>(lab: Lab, host: number, ...args: string[]): Promise<T> {
  return JSON.parse(await vswOk(lab, host, ...args, '--format', 'json')) as T
}

/** Serial console and the agent's journal of each VM: call it when a test failed. */
export async function dumpVms(lab: Lab, hosts: number): Promise<void> {
  for (let h = 1; h <= hosts; h++) {
    const journal = await lab
      .exec(h, ['journalctl', '-u', 'swarmnet', '--no-pager', '-n', '60', '-o', 'cat'], {
        signal: AbortSignal.timeout(30_000),
      })
      .catch((err: unknown) => ({ stdout: `(unreachable: ${String(err)})` }))
    console.log(
      `----- ${lab.hostname(h)}: serial console -----\n${vmConsoleTail(lab.name, h, 30)}\n` +
        `----- ${lab.hostname(h)}: agent journal -----\n${journal.stdout}`,
    )
  }
}

/** Milliseconds since `t0`, for the timings line the suite prints. */
export function since(t0: number): number {
  return Date.now() - t0
}

/** The terraform binary, or undefined when it is not installed. */
export function terraformPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v terraform'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export function hasTerraform(): boolean {
  return terraformPath() !== undefined
}

/**
 * On a formed 2-VM cluster: a 2-replica whoami service on an overlay gets a task on each VM,
 * and each task answers the other over HTTP across the overlay (curl run in the task's
 * sandbox namespace, so no Node start per probe), its VIP through IPVS; its published port
 * 8080 answers from the lab's ext host through either VM with both tasks behind it (IPVS in
 * the ingress namespace) and refuses once the service is removed.
 */
export async function serviceAcrossVms(lab: Lab): Promise<Record<string, number>> {
  const t0 = Date.now()
  const timings: Record<string, number> = {}
  await vswOk(lab, 1, 'network', 'create', 'appnet')
  await vswOk(
    lab,
    1,
    'service',
    'create',
    '-d',
    '--name',
    'web',
    '--replicas',
    '2',
    '--network',
    'appnet',
    '-p',
    '8080:8080',
    '--',
    VM_BIN,
    'whoami',
    '--port',
    '8080',
  )
  const tasks = await waitFor('2 running tasks', 300_000, async () => {
    const ts = (await vswJson<TaskJson[]>(lab, 1, 'service', 'ps', 'web')).filter(
      (t) => t.desiredState === 'running',
    )
    // one address on appnet, one on ingress (the port is published)
    return ts.length === 2 && ts.every((t) => t.state === 'running' && t.addresses.length === 2)
      ? ts
      : undefined
  })
  timings.serviceRunningMs = since(t0)
  expect(new Set(tasks.map((t) => t.node))).toEqual(new Set([lab.hostname(1), lab.hostname(2)]))
  const hostOf = (t: TaskJson): number => (t.node === lab.hostname(1) ? 1 : 2)
  for (const from of tasks) {
    for (const to of tasks.filter((t) => t !== from)) {
      const ip = addressOn(to, 'appnet')
      const argv = curlFromTask(from.id, ip, 5)
      const body = await waitFor(`${from.node} → ${to.node} (${ip})`, 120_000, async () => {
        const r = await lab.exec(hostOf(from), argv)
        return r.exitCode === 0 && r.stdout.includes(to.id) ? r.stdout : undefined
      })
      expect(body).toContain(to.id)
    }
  }
  timings.crossVmHttpMs = since(t0)
  // the service's VIP, balanced in each VM's LB namespace over both tasks by IPVS (`auto`
  // takes it where the kernel has it): a fwmark service with both tasks as destinations
  const [svc] = JSON.parse(await vswOk(lab, 1, 'service', 'inspect', 'web')) as Array<{
    virtualIPs: Array<{ addr: string }>
  }>
  const vip = svc?.virtualIPs[0]?.addr.split('/')[0] ?? ''
  const vni = (await vswJson<Array<{ name: string; vni: number }>>(lab, 1, 'network', 'ls')).find(
    (n) => n.name === 'appnet',
  )?.vni
  for (const from of tasks) {
    const seen = await waitFor(`${from.node} → VIP ${vip} reaches both tasks`, 60_000, async () => {
      const r = await lab.exec(hostOf(from), [
        'sh',
        '-c',
        `for i in 1 2 3 4 5 6 7 8; do ${curlFromTask(from.id, vip, 5).join(' ')}; echo; done`,
      ])
      const got = new Set(tasks.filter((t) => r.stdout.includes(t.id)).map((t) => t.id))
      return got.size === 2 ? got : undefined
    })
    expect(seen.size).toBe(2)
    const ipvs = await lab.exec(hostOf(from), ['ip', 'netns', 'exec', `sn-lb-${vni}`, 'ipvsadm-save', '-n'])
    for (const t of tasks) expect(ipvs.stdout).toContain(`-r ${addressOn(t, 'appnet')}:0 -m -w 1`)
  }
  // and its name, through the node's resolver, from inside a task
  const names = await vsw(
    lab,
    hostOf(tasks[0] as TaskJson),
    'exec',
    (tasks[0] as TaskJson).id,
    '--',
    'getent',
    'hosts',
    'web',
  )
  expect(names.stdout.trim().split(/\s+/)[0]).toBe(vip)
  timings.vipMs = since(t0)
  // the published port through the routing mesh, IPVS in each VM's ingress namespace: from
  // the lab's ext host each VM's address on 8080 reaches both tasks
  const ingress = (await vswJson<Array<{ name: string; vni: number }>>(lab, 1, 'network', 'ls')).find(
    (n) => n.name === 'ingress',
  )?.vni
  const fromExt = (h: number, n: number) =>
    lab.exec('ext', [
      'sh',
      '-c',
      `for i in $(seq ${n}); do curl -s --max-time 5 http://${lab.hostAddress(h)}:8080/; echo " exit=$?"; done`,
    ])
  for (const h of [1, 2]) {
    const seen = await waitFor(`ext → VM ${h}:8080 reaches both tasks`, 120_000, async () => {
      const r = await fromExt(h, 8)
      const got = new Set(tasks.filter((t) => r.stdout.includes(t.id)).map((t) => t.id))
      return got.size === 2 ? got : undefined
    })
    expect(seen.size).toBe(2)
    const ipvs = await lab.exec(h, ['ip', 'netns', 'exec', `sn-lb-${ingress}`, 'ipvsadm-save', '-n'])
    for (const t of tasks) expect(ipvs.stdout).toContain(`-r ${addressOn(t, 'ingress')}:0 -m -w 1`)
  }
  timings.meshMs = since(t0)
  const rm = await vsw(lab, 1, 'service', 'rm', 'web')
  expect(rm.exitCode, rm.stderr).toBe(0)
  for (const h of [1, 2])
    await waitFor(`VM ${h}:8080 refused once web is removed`, 60_000, async () =>
      (await fromExt(h, 1)).stdout.includes('exit=7') ? true : undefined,
    )
  return timings
}

/** A task's address on a network (by name). */
function addressOn(t: TaskJson, network: string): string {
  return t.addresses.find((a) => a.network === network)?.ip ?? ''
}
