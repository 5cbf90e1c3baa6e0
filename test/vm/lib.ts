/**
 * Helpers of the VM suite: a VM lab with a unique name, the CLI inside a VM (on PATH there,
 * from the read-only code disk), and what to show when a test failed. Everything under TCG
 * is slow: CLI calls get minutes, conditions are awaited with waitFor, never with sleeps.
 */
import { randomBytes } from 'node:crypto'
import { createLab, type ExecResult, type Lab, vmConsoleTail } from '@swarmnet/lab'
import { silentLogger } from '@swarmnet/logger'

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
