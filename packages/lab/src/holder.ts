/**
 * Holders: one long-lived process per node that owns its namespaces.
 *
 * `unshare --fork --pid --mount-proc --net --mount --uts --ipc --propagation private` runs
 * HOLDER_SCRIPT as pid 1 of the new pid namespace. Order inside the script matters:
 *  1. tmpfs on /run first, so there is a private place to park things;
 *  2. bind the paths to keep (the repository, so `bin/swarmnet` and node_modules work in
 *     every host even when the checkout lives under /tmp) onto /run;
 *  3. tmpfs on /var/lib/swarmnet (created first), /var/log and /tmp;
 *  4. move the parked paths back to where they were;
 *  5. a fresh sysfs (so /sys/class/net lists this node's links), the hostname, and on the
 *     switch IPv4 forwarding;
 *  6. `exec tini -s -- sleep infinity`: tini as pid 1 reaps orphans (detaching daemons).
 * A holder is ready when pid 1 of its namespace is `tini`; an early exit fails `up` with
 * the holder's stderr (kept in a log file under the lab's state directory).
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SwarmnetError } from '@swarmnet/interface'
import { spawnHolder } from './exec.js'
import { hostnameOf, type LabNode, nodeId } from './naming.js'
import { ENV_HOSTS, ENV_LAB, ENV_NODE, type MarkedProcess, scanMarked } from './procfs.js'

/** Directories every node mounts privately; paths under them must be parked and restored. */
export const PRIVATE_DIRS = ['/run', '/var/lib/swarmnet', '/var/log', '/tmp'] as const

const HOLDER_SCRIPT = `set -eu
host="$1"; role="$2"; shift 2
cd /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/.lab-keep
n=0
for p in "$@"; do n=$((n + 1)); mkdir "/run/.lab-keep/$n"; mount --rbind "$p" "/run/.lab-keep/$n"; done
mkdir -p /var/lib/swarmnet
mount -t tmpfs -o mode=0755 tmpfs /var/lib/swarmnet
mount -t tmpfs -o mode=0755 tmpfs /var/log
mount -t tmpfs -o mode=1777 tmpfs /tmp
n=0
for p in "$@"; do n=$((n + 1)); mkdir -p "$p"; mount --move "/run/.lab-keep/$n" "$p"; rmdir "/run/.lab-keep/$n"; done
rmdir /run/.lab-keep
mount -t sysfs sysfs /sys
hostname "$host"
if [ "$role" = switch ]; then echo 1 > /proc/sys/net/ipv4/ip_forward; fi
exec tini -s -- sleep infinity
`

export interface HolderInit {
  lab: string
  hosts: number
  node: LabNode
  /** Absolute paths under PRIVATE_DIRS (not /run) to keep visible inside the node. */
  keep: readonly string[]
  logFd: number
}

export function startHolder(init: HolderInit): ChildProcess {
  const role = init.node === 'switch' ? 'switch' : init.node === 'ext' ? 'ext' : 'host'
  const args = [
    '--fork',
    '--pid',
    '--mount-proc',
    '--net',
    '--mount',
    '--uts',
    '--ipc',
    '--propagation',
    'private',
    'sh',
    '-c',
    HOLDER_SCRIPT,
    'swarmnet-lab-holder',
    hostnameOf(init.lab, init.node),
    role,
    ...init.keep,
  ]
  const env = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    [ENV_LAB]: init.lab,
    [ENV_NODE]: nodeId(init.node),
    [ENV_HOSTS]: String(init.hosts),
  }
  return spawnHolder({ args, env, logFd: init.logFd })
}

/**
 * Which of `candidates` (plus the repository root) must be parked: those under a private
 * directory other than /run. Paths under /run cannot be kept (the park lives there).
 */
export function pathsToKeep(candidates: readonly string[]): { keep: string[]; dropped: string[] } {
  const keep: string[] = []
  const dropped: string[] = []
  for (const raw of candidates) {
    const p = resolve(raw)
    const under = PRIVATE_DIRS.find((d) => p === d || p.startsWith(`${d}/`))
    if (under === undefined) continue
    if (under === '/run' || p === under) dropped.push(p)
    else if (!keep.includes(p)) keep.push(p)
  }
  return { keep, dropped }
}

/** The monorepo root (the nearest ancestor whose package.json has workspaces), resolved. */
export function repositoryRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      try {
        const json = JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown }
        if (json.workspaces !== undefined) return realpath(dir)
      } catch {
        // not ours, keep climbing
      }
    }
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

function realpath(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return p
  }
}

export class HolderFailedError extends SwarmnetError {
  constructor(message: string) {
    super(message, 'ERR_LAB_HOLDER')
  }
}

/**
 * Waits until every node's pid 1 is tini, polling /proc. Rejects as soon as a holder exits
 * (with its log), on timeout, or on abort. Returns the pid 1 of each node.
 */
export async function waitReady(
  lab: string,
  holders: ReadonlyMap<string, { child: ChildProcess; log: string }>,
  options: { signal?: AbortSignal; timeoutMs: number },
): Promise<Map<string, number>> {
  const deadline = Date.now() + options.timeoutMs
  let failed: string | undefined
  const onExit = (node: string, log: string) => (code: number | null, sig: string | null) => {
    const text = existsSync(log) ? readFileSync(log, 'utf8').trim() : ''
    failed ??= `lab ${lab}: holder of node ${node} exited (${sig ?? `code ${code}`})${text ? `: ${text}` : ''}`
  }
  const listeners = [...holders].map(([node, h]) => {
    const l = onExit(node, h.log)
    h.child.once('exit', l)
    return () => h.child.off('exit', l)
  })
  try {
    let delay = 10
    for (;;) {
      options.signal?.throwIfAborted()
      if (failed !== undefined) throw new HolderFailedError(failed)
      const ready = readyInits(await scanMarked(lab))
      if ([...holders.keys()].every((n) => ready.has(n))) return ready
      if (Date.now() > deadline) {
        const missing = [...holders.keys()].filter((n) => !ready.has(n))
        throw new HolderFailedError(
          `lab ${lab}: nodes ${missing.join(', ')} not ready after ${options.timeoutMs} ms`,
        )
      }
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 100)
    }
  } finally {
    for (const off of listeners) off()
  }
}

/**
 * node id → pid of its tini (pid 1 of the node's pid namespace, set-up done), or of its
 * QEMU process for a VM-backed host.
 */
export function readyInits(procs: readonly MarkedProcess[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const p of procs) {
    if ((p.init && p.comm === 'tini') || (p.vm && p.comm.startsWith('qemu-system'))) out.set(p.node, p.pid)
  }
  return out
}
