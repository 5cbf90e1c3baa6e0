/**
 * What a lab leaves in the machine's cgroup v1 hierarchies: those are shared by the whole
 * machine, so the cgroups an agent made in a lab host (its parent `swarmnet-<hostname>` and a
 * cgroup per task with limits under it) outlive the host's namespaces. `down` removes them:
 * every directory named `swarmnet-<lab>-*` at the root of each cgroup hierarchy mounted here.
 */
import { readdir, readFile, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '@swarmnet/interface'

/** Mount points of the cgroup hierarchies of this mount namespace. */
async function cgroupRoots(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  return info
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p !== '')
}

/** Removes a cgroup directory and the cgroups under it, leaves first (cgroup files cannot be deleted; rmdir is enough). */
async function removeTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name))
  await rmdir(dir)
}

/**
 * Removes the lab's cgroups; a cgroup whose last process is still being reaped is busy for a
 * moment, so each is tried a few times. Failures are logged, not thrown: the lab is down.
 */
export async function removeLabCgroups(lab: string, logger?: Logger): Promise<number> {
  let removed = 0
  for (const root of await cgroupRoots()) {
    const names = await readdir(root).catch(() => [] as string[])
    for (const name of names.filter((n) => n.startsWith(`swarmnet-${lab}-`))) {
      for (let attempt = 0; ; attempt++) {
        try {
          await removeTree(join(root, name))
          removed++
          break
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break
          if (attempt >= 20) {
            logger?.warn('lab cgroup not removed', { lab, dir: join(root, name), err })
            break
          }
          await new Promise((r) => setTimeout(r, 50))
        }
      }
    }
  }
  return removed
}
