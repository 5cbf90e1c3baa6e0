/**
 * Finding a lab's processes by reading /proc, so any process — including a fresh one after
 * the runner of `up` was SIGKILLed — sees the same truth without in-memory state.
 *
 * A holder is marked by SWARMNET_LAB=<lab>, SWARMNET_LAB_NODE=<node> and
 * SWARMNET_LAB_HOSTS=<n> in its environment. Three processes carry the marker per node:
 * the `unshare` parent (outside the pid namespace), pid 1 of the namespace (first `sh`,
 * then `tini` once set-up is done) and tini's `sleep`. Commands run with `exec` never carry
 * it. The one to nsenter is the process whose last NSpid is 1.
 */
import { readdir, readFile } from 'node:fs/promises'

export const ENV_LAB = 'SWARMNET_LAB'
export const ENV_NODE = 'SWARMNET_LAB_NODE'
export const ENV_HOSTS = 'SWARMNET_LAB_HOSTS'
/** Set (to 1) on the QEMU process of a VM-backed host. */
export const ENV_VM = 'SWARMNET_LAB_VM'

export interface MarkedProcess {
  pid: number
  lab: string
  node: string
  hosts: number
  /** pid 1 of its own pid namespace (the holder to nsenter). */
  init: boolean
  /** /proc/PID/comm, e.g. `unshare`, `sh`, `tini`, `qemu-system-x86`. */
  comm: string
  /** The QEMU process of a VM-backed host. */
  vm: boolean
}

const MARKER = Buffer.from(`${ENV_LAB}=`)

/** Every live process marked for `lab` (or for any lab when omitted). Zombies are skipped. */
export async function scanMarked(lab?: string): Promise<MarkedProcess[]> {
  const entries = await readdir('/proc')
  const found = await Promise.all(
    entries.filter((e) => /^[0-9]+$/.test(e)).map((e) => readMarked(Number(e), lab)),
  )
  return found.filter((p): p is MarkedProcess => p !== undefined)
}

/** One process, if it is (still) marked for `lab`. */
export async function readMarked(pid: number, lab?: string): Promise<MarkedProcess | undefined> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`)
    if (environ.indexOf(MARKER) < 0) return undefined
    const env = new Map<string, string>()
    for (const kv of environ.toString('utf8').split('\0')) {
      const eq = kv.indexOf('=')
      if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1))
    }
    const name = env.get(ENV_LAB)
    const node = env.get(ENV_NODE)
    if (name === undefined || node === undefined || (lab !== undefined && name !== lab)) return undefined
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    if (/^State:\s+Z/m.test(status)) return undefined
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? []
    const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? ''
    return {
      pid,
      lab: name,
      node,
      hosts: Number(env.get(ENV_HOSTS) ?? '0'),
      init: nspid.length > 1 && nspid[nspid.length - 1] === '1',
      comm,
      vm: env.get(ENV_VM) === '1',
    }
  } catch {
    return undefined // gone, or a kernel thread
  }
}

/** Direct children of a process (Linux keeps them in task/<pid>/children). */
export async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')
    return text
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number)
  } catch {
    return []
  }
}
