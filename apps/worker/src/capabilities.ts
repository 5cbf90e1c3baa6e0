/**
 * Kernel capabilities for `swarmnet info`, read from /proc without side effects:
 * built-in or loaded modules and the netfilter/IPVS proc files.
 */
import { access, readFile } from 'node:fs/promises'
import type { AbortOptions } from '@swarmnet/interface'

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  )
}

async function kernelHas(module: string, configKey: string): Promise<boolean> {
  const release = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim()
  const modules = await readFile('/proc/modules', 'utf8').catch(() => '')
  if (new RegExp(`^${module} `, 'm').test(modules)) return true
  if (await exists(`/sys/module/${module}`)) return true
  const builtin = await readFile(`/lib/modules/${release}/modules.builtin`, 'utf8').catch(() => '')
  if (builtin.includes(`/${module}.ko`)) return true
  const dep = await readFile(`/lib/modules/${release}/modules.dep`, 'utf8').catch(() => '')
  if (dep.includes(`/${module}.ko`)) return true
  const config = await readFile('/proc/config.gz')
    .then(async (gz) => (await import('node:zlib')).gunzipSync(gz).toString('utf8'))
    .catch(() => '')
  return new RegExp(`^${configKey}=[ym]$`, 'm').test(config)
}

export async function probeCapabilities(_options?: AbortOptions) {
  const [vxlan, nftables, ipvs, esp] = await Promise.all([
    kernelHas('vxlan', 'CONFIG_VXLAN'),
    kernelHas('nf_tables', 'CONFIG_NF_TABLES'),
    exists('/proc/net/ip_vs').then((y) => y || kernelHas('ip_vs', 'CONFIG_IP_VS')),
    kernelHas('esp4', 'CONFIG_INET_ESP'),
  ])
  return { vxlan, nftables, ipvs, esp }
}
