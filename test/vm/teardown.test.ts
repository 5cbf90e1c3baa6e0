/**
 * `lab down` after the runner of `lab up --vm` was SIGKILLed while its VM was booting:
 * QEMU (detached, marked), the switch and ext holders, the tap and the lab's files must all
 * go. Also: bad input to `lab up --vm` is refused before anything starts.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { destroyLab, listLabs, VM_STATE_ROOT } from '@swarmnet/lab'
import { describe, expect, it } from 'vitest'
import { BIN, waitFor } from '../lib/cluster.js'

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], signal: AbortSignal.timeout(60_000) })
    let stderr = ''
    c.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    c.on('error', reject)
    c.on('exit', (code) => resolve({ code, stderr }))
  })
}

describe('VM lab teardown', () => {
  it('refuses bad input to lab up --vm', async () => {
    const many = await cli(['lab', 'up', '--vm', '--name', 'vmbad', '9'])
    expect(many.code).not.toBe(0)
    expect(many.stderr).toMatch(/1 to 8 with --vm/)
    const name = await cli(['lab', 'up', '--vm', '--name', 'Bad', '1'])
    expect(name.code).not.toBe(0)
    expect(name.stderr).toMatch(/invalid lab name/)
  })

  it('lab down cleans up after the runner of lab up --vm was killed while QEMU booted', async () => {
    const name = `vmk${randomBytes(2).toString('hex')}`
    const runner = spawn(BIN, ['lab', 'up', '--vm', '--name', name, '1'], { stdio: 'ignore' })
    try {
      await waitFor('QEMU of VM 1 started', 120_000, async () => {
        const lab = (await listLabs()).find((l) => l.name === name)
        return lab?.nodes.find((n) => n.node === 1 && n.vm && n.running)
      })
      runner.kill('SIGKILL')
      expect(await destroyLab(name)).toBeGreaterThan(0)
      expect((await listLabs()).some((l) => l.name === name)).toBe(false)
      expect(existsSync(`${VM_STATE_ROOT}/${name}`)).toBe(false)
      expect(existsSync(`/run/swarmnet-lab/${name}`)).toBe(false)
    } finally {
      runner.kill('SIGKILL')
      await destroyLab(name)
    }
  })
})
