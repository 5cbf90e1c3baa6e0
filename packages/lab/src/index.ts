/**
 * @packageDocumentation
 * A multi-host lab on one Linux machine: N simulated hosts, each with its own network,
 * mount, pid, ipc and uts namespace (hostname `<lab>-<i>`; private tmpfs on /run,
 * /var/lib/swarmnet, /var/log and /tmp), an `eth0` on a shared underlay bridge
 * (192.0.2.0/24) that lives in a `switch` namespace of its own, and an `ext` host
 * (203.0.113.10) standing for the internet, routed by the switch without NAT.
 *
 * Every node is a long-lived holder process found again through /proc, so a lab brought
 * up by one process can be driven and torn down by any other one, even after the first
 * was SIGKILLed. Needs root, util-linux (unshare, nsenter), iproute2 and tini.
 *
 * With `vm: true` each host is a QEMU VM instead (Debian's cloud kernel, so IPVS and ESP
 * are real) on a tap of the same underlay bridge, reached over SSH from the switch's
 * namespace; the image is built offline and cached by `infra/image/build.sh` (see vm.ts).
 *
 * @example
 * ```ts
 * import { createLab, destroyLab } from '@swarmnet/lab'
 * const lab = createLab({ logger }, { name: 'demo', hosts: 3 })
 * await lab.up()
 * const r = await lab.exec(1, ['ping', '-c1', lab.hostAddress(2)])
 * await lab.down() // or, from another process: await destroyLab('demo')
 * ```
 */
import type { AbortOptions, Logger } from '@swarmnet/interface'
import type { ExecOptions, ExecResult, LabProcess } from './exec.js'
import { LabImpl } from './lab.js'
import type { LabNode } from './naming.js'

export type { ExecOptions, ExecResult, LabProcess } from './exec.js'
export { destroyLab, listLabs } from './lab.js'
export {
  EXT_ADDRESS,
  EXT_GATEWAY,
  LAB_NAME_PATTERN,
  type LabNode,
  MAX_HOSTS,
  MAX_VMS,
  UNDERLAY_GATEWAY,
  UNDERLAY_PREFIX,
} from './naming.js'
export { consoleTail as vmConsoleTail, VM_STATE_ROOT } from './vm.js'

/** A running (or to-be-run) lab. Hosts are numbered from 1. */
export interface Lab {
  readonly name: string
  readonly hosts: number
  /** ext's address, 203.0.113.10. */
  readonly extAddress: string
  /** The switch's underlay address and every host's default gateway, 192.0.2.1. */
  readonly gatewayAddress: string
  /**
   * Starts every node and wires the underlay. Throws ConflictError when a lab of that name
   * already exists (take it down first); a failed `up` leaves nothing behind.
   */
  up(options?: AbortOptions): Promise<void>
  /** Kills every process of the lab and waits until they are gone (idempotent). */
  down(options?: AbortOptions): Promise<void>
  /** Which nodes run, read from /proc. */
  status(options?: AbortOptions): Promise<LabStatus>
  /**
   * Runs `argv` inside a node as if logged in there (all its namespaces, cwd /) and
   * waits for it. A non-zero exit is a result, not an error; an abort kills the command.
   */
  exec(node: LabNode, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>
  /**
   * Starts `argv` inside a node and returns at once (long-running processes). On a VM host
   * `argv` runs over SSH as root; kill ends the connection.
   */
  spawn(node: LabNode, argv: readonly string[], options?: ExecOptions): Promise<LabProcess>
  /** pid (in this machine's pid namespace) of the node's pid 1, for nsenter-like tools. */
  pid(node: LabNode, options?: AbortOptions): Promise<number>
  /** Underlay address of host `i`: 192.0.2.(10 + i). */
  hostAddress(i: number): string
  /** `<lab>-<i>`, `<lab>-ext` or `<lab>-sw`. */
  hostname(node: LabNode): string
}

export interface LabComponents {
  logger: Logger
}

export interface LabInit {
  /** Lab name, /^[a-z][a-z0-9]{0,7}$/; two labs of different names never collide. */
  name: string
  /** Number of hosts, 1 to 200. */
  hosts: number
  /**
   * Machine paths to keep visible inside every node although they lie under a directory
   * the nodes mount privately (/var/lib/swarmnet, /var/log, /tmp). The repository root is
   * always kept. Paths under /run cannot be kept.
   * @default []
   */
  keep?: readonly string[]
  /** How long `up` waits for the holders. @default 20000 */
  readyTimeoutMs?: number
  /**
   * MTU of the underlay: the switch bridge, every host's `eth0` and its switch port (the
   * ext link keeps 1500). 576 to 9000; a cloud network is 1460 (GCP) or 9001 (AWS).
   * @default 1500
   */
  mtu?: number
  /**
   * Hosts are QEMU VMs (Debian's cloud kernel: IPVS and ESP are real) instead of
   * namespaces; the switch and ext stay namespaces. Needs QEMU, mmdebstrap (the image is
   * built and cached on first use, 1-3 min) and the built repository. @default false
   */
  vm?: boolean
  /** How long `up` waits for each VM to boot and its agent to listen. @default 300000 */
  vmReadyTimeoutMs?: number
  /** Memory of each VM in MiB. @default 768 */
  vmMemoryMb?: number
  /** Environment of the agent's systemd unit inside each VM (e.g. longer periods). */
  agentEnv?: Readonly<Record<string, string>>
}

export interface LabNodeStatus {
  node: LabNode
  hostname: string
  address: string
  /** pid of the node's pid 1 when it runs. */
  pid: number | undefined
  running: boolean
  /** A QEMU VM (its pid is QEMU's) rather than a namespace holder. */
  vm: boolean
}

export interface LabStatus {
  name: string
  hosts: number
  /** Every node runs. */
  running: boolean
  /** switch, hosts 1..N, ext. */
  nodes: LabNodeStatus[]
}

export interface DestroyLabOptions extends AbortOptions {
  logger?: Logger
  /** @default 20000 */
  timeoutMs?: number
}

export function createLab(components: LabComponents, init: LabInit): Lab {
  return new LabImpl(components, init)
}
