/**
 * VM-backed lab hosts: host i is a QEMU process started inside the switch's network
 * namespace, its NIC a tap `tap<i>` on the switch's underlay bridge, so a VM sits on the
 * underlay exactly where a namespace host's `eth0` would (192.0.2.(10+i), gateway
 * 192.0.2.1, the same `ext`). Its disks: a qcow2 overlay on the cached base image and the
 * lab's read-only code disk (/opt/swarmnet inside). The guest configures eth0 from the
 * kernel command line and starts sshd and the agent's unit (infra/systemd).
 *
 * QEMU carries the lab's marker environment (plus SWARMNET_LAB_VM=1), so `lab down` finds
 * and kills it from /proc like any holder; the tap lives in the switch's namespace and
 * vanishes with it; the VM files live in /var/lib/swarmnet-lab/<lab> (on disk, not tmpfs)
 * and are removed by `down`. Commands reach a VM over SSH run from inside the switch's
 * network namespace, with the lab's own key and one multiplexed connection per VM.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type AbortOptions, SwarmnetError } from '@swarmnet/interface'
import { type ExecOptions, runIn } from './exec.js'
import { hostAddress, hostnameOf, UNDERLAY_GATEWAY, UNDERLAY_PREFIX } from './naming.js'
import { ENV_HOSTS, ENV_LAB, ENV_NODE, ENV_VM } from './procfs.js'
import { type Accel, tail, type VmImage } from './vm-image.js'

/** Where a VM lab keeps its disks, key and consoles (removed by `down`). */
export const VM_STATE_ROOT = '/var/lib/swarmnet-lab'

export function vmDirOf(lab: string): string {
  return `${VM_STATE_ROOT}/${lab}`
}

export function keyPathOf(lab: string): string {
  return join(vmDirOf(lab), 'id_ed25519')
}

export function consoleOf(lab: string, host: number): string {
  return join(vmDirOf(lab), `vm${host}.console`)
}

/** Defaults sized for TCG on 2 cores; SWARMNET_VM_MEMORY (MiB) overrides the memory. */
export const VM_MEMORY_MB = 768

export interface VmInit {
  lab: string
  hosts: number
  host: number
  switchPid: number
  image: VmImage
  accel: Accel
  codeDisk: string
  overlay: string
  memoryMb?: number
}

/** `ip -batch` lines for the switch: a tap per VM host on the underlay bridge. */
export function tapBatch(hosts: readonly number[]): string {
  const lines: string[] = []
  for (const h of hosts) {
    lines.push(`tuntap add dev tap${h} mode tap`, `link set tap${h} master br0`, `link set tap${h} up`)
  }
  return `${lines.join('\n')}\n`
}

export function macOf(host: number): string {
  return `52:54:00:c0:02:${(10 + host).toString(16).padStart(2, '0')}`
}

export function qemuArgs(init: VmInit): string[] {
  const append = [
    'root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0 quiet',
    `systemd.hostname=${hostnameOf(init.lab, init.host)}`,
    `swarmnet.addr=${hostAddress(init.host)}/${UNDERLAY_PREFIX} swarmnet.gw=${UNDERLAY_GATEWAY}`,
  ].join(' ')
  return [
    ...['--target', String(init.switchPid), '--net', '--', 'qemu-system-x86_64'],
    ...['-name', hostnameOf(init.lab, init.host)],
    ...(init.accel === 'kvm'
      ? ['-accel', 'kvm', '-cpu', 'host']
      : ['-accel', 'tcg,tb-size=256', '-cpu', 'max']),
    ...['-smp', '1', '-m', String(init.memoryMb ?? VM_MEMORY_MB)],
    ...['-display', 'none', '-nodefaults', '-no-reboot', '-monitor', 'none'],
    ...['-serial', `file:${consoleOf(init.lab, init.host)}`],
    ...['-kernel', init.image.kernel, '-initrd', init.image.initrd, '-append', append],
    ...['-drive', `file=${init.overlay},if=virtio,format=qcow2,discard=unmap`],
    ...['-drive', `file=${init.codeDisk},if=virtio,format=raw,readonly=on`],
    ...['-device', 'virtio-rng-pci'],
    ...['-netdev', `tap,id=n0,ifname=tap${init.host},script=no,downscript=no`],
    ...['-device', `virtio-net-pci,netdev=n0,mac=${macOf(init.host)}`],
  ]
}

/** Starts QEMU detached (it outlives the process that ran `up`), marked as node `host`. */
export function startVm(init: VmInit, logFd: number): ChildProcess {
  const env = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    [ENV_LAB]: init.lab,
    [ENV_NODE]: String(init.host),
    [ENV_HOSTS]: String(init.hosts),
    [ENV_VM]: '1',
  }
  const child = spawn('nsenter', qemuArgs(init), {
    cwd: '/',
    detached: true,
    env,
    stdio: ['ignore', logFd, logFd],
  })
  child.unref()
  return child
}

/**
 * The `ssh` argv (run in the switch's network namespace) that runs `argv` as root in VM
 * `host`. Arguments are shell-quoted one by one, so the remote shell sees them unchanged.
 */
export function sshArgv(
  lab: string,
  host: number,
  argv: readonly string[],
  env?: Record<string, string>,
): string[] {
  const envPart = Object.entries(env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new SwarmnetError(`invalid environment name '${k}'`, 'ERR_INVALID_INPUT')
    return `${k}=${shellQuote(v)}`
  })
  const command = [...(envPart.length > 0 ? ['env', ...envPart] : []), ...argv.map(shellQuote)].join(' ')
  return [
    'ssh',
    ...['-i', keyPathOf(lab), '-l', 'root', '-T'],
    ...['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
    ...['-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=10'],
    ...['-o', 'ControlMaster=auto', '-o', `ControlPath=${vmDirOf(lab)}/ssh-%h`, '-o', 'ControlPersist=300'],
    hostAddress(host),
    '--',
    command,
  ]
}

/** The marker an ssh client of the lab carries, so `down` also ends its connections. */
export function sshEnv(lab: string, env?: Record<string, string>): Record<string, string> {
  return { ...(env ?? {}), [ENV_LAB]: lab, [ENV_NODE]: 'ssh' }
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export async function sshRun(
  lab: string,
  switchPid: number,
  host: number,
  argv: readonly string[],
  options: ExecOptions = {},
) {
  const { env, ...rest } = options
  return runIn(switchPid, sshArgv(lab, host, argv, env), { ...rest, env: sshEnv(lab) }, 'net')
}

export interface WaitVmOptions extends AbortOptions {
  timeoutMs: number
  /** True while QEMU still runs. */
  alive: () => Promise<boolean>
}

/**
 * Waits until VM `host` answers over SSH and its agent's socket exists (the agent's unit
 * is up, so `swarmnet init` finds it instead of starting a second one). Fails at once when
 * QEMU exits, with the end of its serial console.
 */
export async function waitVm(
  lab: string,
  switchPid: number,
  host: number,
  options: WaitVmOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  let last = ''
  for (let delay = 500; ; delay = Math.min(delay * 1.5, 3_000)) {
    options.signal?.throwIfAborted()
    if (!(await options.alive())) {
      throw new SwarmnetError(
        `lab ${lab}: VM ${host} stopped while booting:\n${consoleTail(lab, host)}`,
        'ERR_LAB_VM',
      )
    }
    const r = await sshRun(lab, switchPid, host, ['test', '-S', '/run/swarmnet/swarmnet.sock'], {
      signal: AbortSignal.any([AbortSignal.timeout(30_000), ...(options.signal ? [options.signal] : [])]),
    }).catch((err: unknown) => ({ exitCode: -1, stdout: '', stderr: String(err) }))
    if (r.exitCode === 0) return
    last = r.exitCode === 1 ? 'the agent socket is not there yet' : r.stderr.trim()
    if (Date.now() > deadline) {
      throw new SwarmnetError(
        `lab ${lab}: VM ${host} not ready after ${options.timeoutMs} ms (${last}):\n${consoleTail(lab, host)}`,
        'ERR_LAB_VM',
      )
    }
    await new Promise((r) => setTimeout(r, delay))
  }
}

/** The end of VM `host`'s serial console, or QEMU's own errors when it never booted. */
export function consoleTail(lab: string, host: number, lines = 25): string {
  const read = (path: string): string => (existsSync(path) ? tail(readFileSync(path, 'utf8'), lines) : '')
  const qemu = read(join(vmDirOf(lab), `vm${host}.qemu.log`))
  const console = read(consoleOf(lab, host))
  return [qemu && `qemu: ${qemu}`, console || '(no console output)'].filter((s) => s !== '').join('\n')
}
