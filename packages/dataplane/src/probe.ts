/**
 * Kernel capability probe for `swarmnet info`: what this node's kernel can do, tried for
 * real in a throwaway namespace (`sn-probe-<random>`, deleted at the end) rather than
 * guessed from config files. One shell process runs all the checks, through the executor.
 *
 * - vxlan: create a vxlan device.
 * - nftables: load a table with a masquerade rule (nat support).
 * - ipvs: `/proc/net/ip_vs` exists, after `modprobe ip_vs` when available.
 * - esp: add an rfc4106(gcm(aes)) ESP state (needs esp4 and gcm).
 */
import { randomBytes } from 'node:crypto'
import type { AbortOptions } from '@swarmnet/interface'
import type { Executor } from './executor.js'

export interface KernelCapabilities {
  readonly vxlan: boolean
  readonly nftables: boolean
  readonly ipvs: boolean
  readonly esp: boolean
  /** The first error line of each failed check, for `swarmnet info`. */
  readonly errors: Readonly<Record<string, string>>
}

const CHECKS = ['vxlan', 'nftables', 'ipvs', 'esp'] as const

export function probeScript(ns: string): string {
  const key = `0x${'11'.repeat(20)}`
  return [
    `ns=${ns}`,
    'ip netns add "$ns" || exit 1',
    'check() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name=ok"; else echo "$name=$(echo "$out" | head -n1)"; fi; }',
    'check vxlan ip -n "$ns" link add snprobe0 type vxlan id 42 dstport 4789',
    `check nftables sh -c 'printf "table ip snprobe {\\n chain p {\\n type nat hook postrouting priority srcnat;\\n masquerade\\n }\\n}\\n" | ip netns exec "$1" nft -f -' _ "$ns"`,
    `check ipvs sh -c 'test -e /proc/net/ip_vs || modprobe -q ip_vs 2>/dev/null; test -e /proc/net/ip_vs || { echo "no /proc/net/ip_vs"; exit 1; }'`,
    `check esp ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 reqid 1 mode transport aead 'rfc4106(gcm(aes))' ${key} 64`,
    'ip netns del "$ns"',
  ].join('\n')
}

export function parseProbe(stdout: string): KernelCapabilities {
  const found = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) found.set(line.slice(0, eq), line.slice(eq + 1))
  }
  const errors: Record<string, string> = {}
  for (const c of CHECKS) {
    const v = found.get(c) ?? 'not probed'
    if (v !== 'ok') errors[c] = v
  }
  const ok = (c: (typeof CHECKS)[number]): boolean => found.get(c) === 'ok'
  return { vxlan: ok('vxlan'), nftables: ok('nftables'), ipvs: ok('ipvs'), esp: ok('esp'), errors }
}

export async function probeKernel(exec: Executor, options?: AbortOptions): Promise<KernelCapabilities> {
  const ns = `sn-probe-${randomBytes(3).toString('hex')}`
  const out = await exec.tryRun(['sh', '-s'], { input: probeScript(ns), ...options })
  return parseProbe(out.stdout)
}
