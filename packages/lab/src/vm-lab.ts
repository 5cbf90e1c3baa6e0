/**
 * The VM half of `Lab.up` for `vm: true` (see vm.ts for the shape of a VM host).
 *
 * Ordering:
 *  1. before any process starts: the lab's VM directory, the base image (built and cached
 *     when its inputs changed), the accelerator, a fresh SSH key, the code disk and one
 *     qcow2 overlay per host — all files, so a failure here leaves nothing running;
 *  2. (lab.ts) the switch and ext holders start and the underlay is wired, with a tap per
 *     VM host on the bridge instead of a veth;
 *  3. every QEMU starts at once in the switch's network namespace; then each VM is awaited
 *     until SSH answers and its agent's socket exists, failing early when a QEMU exits.
 */
import { closeSync, existsSync, openSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type AbortOptions, type Logger, SwarmnetError } from '@swarmnet/interface'
import { keyPathOf, startVm, vmDirOf, waitVm } from './vm.js'
import {
  type Accel,
  buildCodeDisk,
  chooseAccel,
  ensureImage,
  makeKey,
  overlay,
  type VmImage,
} from './vm-image.js'

export interface VmPlan {
  image: VmImage
  accel: Accel
  codeDisk: string
  overlays: Map<number, string>
}

export interface PrepareVmInit {
  lab: string
  hosts: number
  repo: string | undefined
  agentEnv: Readonly<Record<string, string>>
  log: Logger
}

export async function prepareVms(init: PrepareVmInit, options?: AbortOptions): Promise<VmPlan> {
  const { lab, hosts, repo, log } = init
  if (repo === undefined) throw new Error('VM lab hosts need the swarmnet repository (its built code)')
  const missing = ['qemu-system-x86_64', 'qemu-img', 'ssh', 'ssh-keygen', 'mkfs.ext4'].filter(
    (c) => !onPath(c),
  )
  if (missing.length > 0) {
    throw new SwarmnetError(
      `VM lab hosts need ${missing.join(', ')}: run scripts/setup.sh (it installs QEMU and the image tools)`,
      'ERR_LAB_VM',
    )
  }
  const dir = vmDirOf(lab)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  let t = Date.now()
  const image = await ensureImage(repo, options)
  const accel = await chooseAccel(image, options)
  log.info('VM image ready', { lab, image: image.dir, accel, ms: Date.now() - t })
  t = Date.now()
  const pub = await makeKey(keyPathOf(lab), options)
  const codeDisk = await buildCodeDisk({ repo, dir, authorizedKey: pub, agentEnv: init.agentEnv }, options)
  const overlays = new Map<number, string>()
  for (let i = 1; i <= hosts; i++) {
    const path = join(dir, `vm${i}.qcow2`)
    await overlay(image.base, path, options)
    overlays.set(i, path)
  }
  log.info('VM disks ready', { lab, codeDisk, ms: Date.now() - t })
  return { image, accel, codeDisk, overlays }
}

export interface BootVmInit {
  lab: string
  hosts: number
  switchPid: number
  plan: VmPlan
  timeoutMs: number
  memoryMb?: number
  log: Logger
}

/** Starts every VM and waits until all answer; returns each host's QEMU pid. */
export async function bootVms(init: BootVmInit, options?: AbortOptions): Promise<Map<number, number>> {
  const { lab, hosts, switchPid, plan, log } = init
  const pids = new Map<number, number>()
  // QEMU's exit, seen by its parent: /proc would not show the marker before exec
  const exited = new Set<number>()
  const t = Date.now()
  for (let host = 1; host <= hosts; host++) {
    const fd = openSync(join(vmDirOf(lab), `vm${host}.qemu.log`), 'w')
    try {
      const overlayPath = plan.overlays.get(host) ?? ''
      const child = startVm(
        {
          lab,
          hosts,
          host,
          switchPid,
          image: plan.image,
          accel: plan.accel,
          codeDisk: plan.codeDisk,
          overlay: overlayPath,
          ...(init.memoryMb !== undefined ? { memoryMb: init.memoryMb } : {}),
        },
        fd,
      )
      child.on('error', (err) => log.error('QEMU did not start', { host, err }))
      child.once('exit', () => exited.add(host))
      if (child.pid === undefined) throw new Error(`lab ${lab}: QEMU of host ${host} could not be started`)
      pids.set(host, child.pid)
    } finally {
      closeSync(fd)
    }
  }
  await Promise.all(
    [...pids].map(([host, pid]) =>
      waitVm(lab, switchPid, host, {
        timeoutMs: init.timeoutMs,
        alive: async () => !exited.has(host) && isRunning(pid),
        ...options,
      }),
    ),
  )
  log.info('VMs are up', { lab, hosts, accel: plan.accel, ms: Date.now() - t })
  return pids
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])
  return dirs.some((d) => d !== '' && existsSync(join(d, cmd)))
}
