/**
 * Issue 13, Terraform: infra/terraform/local-qemu (VM lab + the swarmnet-cluster module over
 * SSH) applied for real with 2 nodes: outputs name the manager and both nodes, `node ls`
 * shows both ready, info shows ipvs and esp, a service with a task on each VM answers
 * across the overlay; then QEMU of VM 2 is killed (-9) and
 * `terraform destroy` still leaves no process, tap, namespace or file. The configuration is
 * copied to a temporary directory so state files never land in the repository. Skipped
 * with a printed reason when terraform is not installed (it is not a Debian/npm package).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createLab, type Lab, listLabs, VM_STATE_ROOT } from '@swarmnet/lab'
import { silentLogger } from '@swarmnet/logger'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { NodeJson } from '../lib/cluster.js'
import { waitFor } from '../lib/cluster.js'
import { dumpVms, serviceAcrossVms, since, terraformPath, vswJson } from './lib.js'

const run = promisify(execFile)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

const terraform = terraformPath()
if (terraform === undefined)
  console.log('terraform tests skipped: terraform is not installed (command -v terraform)')

describe.skipIf(terraform === undefined)(
  'Terraform local-qemu: 2 VMs formed by the swarmnet-cluster module',
  () => {
    const name = `tf${randomBytes(3).toString('hex')}`
    const vars = ['-var', `name=${name}`, '-var', 'nodes=2', '-var', `repo=${ROOT}`]
    const timings: Record<string, number> = {}
    let work = ''
    let dir = ''
    let lab: Lab
    let applied = false

    const tf = async (args: string[], timeoutMs: number): Promise<string> => {
      try {
        const r = await run(
          terraform ?? 'terraform',
          [`-chdir=${dir}`, ...args, '-no-color', ...(args[0] === 'output' ? [] : ['-input=false'])],
          {
            env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' },
            signal: AbortSignal.timeout(timeoutMs),
            maxBuffer: 64 * 1024 * 1024,
          },
        )
        return r.stdout
      } catch (err) {
        const e = err as { code?: unknown; stdout?: string; stderr?: string }
        throw new Error(
          `terraform ${args[0]} failed (${String(e.code)}):\n${e.stdout ?? ''}${e.stderr ?? ''}`,
        )
      }
    }

    beforeAll(async () => {
      work = mkdtempSync(path.join(tmpdir(), 'swarmnet-tf-'))
      cpSync(path.join(ROOT, 'infra/terraform'), path.join(work, 'terraform'), {
        recursive: true,
        filter: (src) => !/\.terraform|tfstate/.test(path.basename(src)),
      })
      dir = path.join(work, 'terraform/local-qemu')
      lab = createLab({ logger: silentLogger }, { name, hosts: 2, vm: true })
      await tf(['init'], 60_000)
    })
    afterEach(async ({ task }) => {
      if (task.result?.state === 'fail' && applied) await dumpVms(lab, 2)
    })
    afterAll(async () => {
      if (applied) await tf(['destroy', '-auto-approve', ...vars], 300_000).catch(() => undefined)
      await lab?.down()
      if (work !== '') rmSync(work, { recursive: true, force: true })
      console.log(`terraform-timings ${JSON.stringify(timings)}`)
    })

    it('apply forms the cluster: outputs, node ls both ready, ipvs and esp', async () => {
      const t0 = Date.now()
      applied = true
      await tf(['apply', '-auto-approve', ...vars], 900_000)
      timings.applyMs = since(t0)
      const out = JSON.parse(await tf(['output', '-json'], 60_000)) as {
        manager: { value: string }
        nodes: { value: Array<{ name: string; address: string; role: string }> }
      }
      expect(out.manager.value).toBe('192.0.2.11')
      expect(out.nodes.value).toEqual([
        { name: `${name}-1`, address: '192.0.2.11', role: 'manager' },
        { name: `${name}-2`, address: '192.0.2.12', role: 'worker' },
      ])
      const nodes = await waitFor('both nodes ready', 120_000, async () => {
        const ls = await vswJson<NodeJson[]>(lab, 1, 'node', 'ls')
        return ls.length === 2 && ls.every((n) => n.status === 'ready') ? ls : undefined
      })
      expect(nodes.map((n) => n.role).sort()).toEqual(['manager', 'worker'])
      const info = await vswJson<{ capabilities: { ipvs: boolean; esp: boolean } }>(lab, 2, 'info')
      expect(info.capabilities).toMatchObject({ ipvs: true, esp: true })
    })

    it('a service with a task on each VM answers across the overlay', async () => {
      Object.assign(timings, await serviceAcrossVms(lab))
    })

    it('destroy leaves nothing, also after QEMU of VM 2 was killed', async () => {
      const vm2 = (await lab.status()).nodes.find((n) => n.node === 2)?.pid
      expect(vm2).toBeDefined()
      process.kill(vm2 ?? 0, 'SIGKILL')
      const t0 = Date.now()
      await tf(['destroy', '-auto-approve', ...vars], 300_000)
      timings.destroyMs = since(t0)
      applied = false
      expect((await listLabs()).some((l) => l.name === name)).toBe(false)
      expect(existsSync(`${VM_STATE_ROOT}/${name}`)).toBe(false)
      const qemu = await run('pgrep', ['-f', `qemu-system-x86_64 -name ${name}-`]).catch(() => ({
        stdout: '',
      }))
      expect(qemu.stdout.trim()).toBe('')
    })
  },
)
