/**
 * Names and addresses of a lab, all pure. A lab `<lab>` has hosts 1..N, a `switch` holding
 * the underlay bridge and an `ext` host standing for the internet. Every value here is a
 * function of the lab name and the node, so any process can recompute them without state.
 *
 * Underlay 192.0.2.0/24 (TEST-NET-1): switch br0 .1, host i at .(10+i).
 * Internet segment 203.0.113.0/24 (TEST-NET-3): switch .1, ext .10. The switch routes
 * between both without NAT, so ext sees the hosts' underlay addresses.
 */
import { InvalidInputError } from '@swarmnet/interface'

/** A node of a lab: a host index (1-based), the internet stand-in, or the underlay switch. */
export type LabNode = number | 'ext' | 'switch'

/** Lab names are short so `<lab>-<i>` stays a valid hostname and labs never collide. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,7}$/

/** The underlay /24 has room for .11 … .254 minus a margin. */
export const MAX_HOSTS = 200

/** VM hosts each take a core-second per second while booting: keep a VM lab small. */
export const MAX_VMS = 8

export const UNDERLAY_PREFIX = 24
export const UNDERLAY_GATEWAY = '192.0.2.1'
export const EXT_GATEWAY = '203.0.113.1'
export const EXT_ADDRESS = '203.0.113.10'

/** Where a lab keeps its holders' logs on the machine (removed by `down`). */
export const STATE_ROOT = '/run/swarmnet-lab'

export function validateLabName(name: string): string {
  if (!LAB_NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      `invalid lab name '${name}': a lower-case letter then up to 7 lower-case letters or digits`,
    )
  }
  return name
}

export function validateHostCount(hosts: number, vm = false): number {
  const max = vm ? MAX_VMS : MAX_HOSTS
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > max) {
    throw new InvalidInputError(
      `invalid host count ${hosts}: an integer from 1 to ${max}${vm ? ' for VM hosts' : ''}`,
    )
  }
  return hosts
}

/** The underlay MTUs a lab accepts: IPv4's minimum to jumbo frames. */
export const MIN_UNDERLAY_MTU = 576
export const MAX_UNDERLAY_MTU = 9000

export function validateMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < MIN_UNDERLAY_MTU || mtu > MAX_UNDERLAY_MTU) {
    throw new InvalidInputError(
      `invalid MTU ${mtu}: an integer from ${MIN_UNDERLAY_MTU} to ${MAX_UNDERLAY_MTU}`,
    )
  }
  return mtu
}

export function validateNode(node: LabNode, hosts: number): LabNode {
  if (node === 'ext' || node === 'switch') return node
  if (!Number.isInteger(node) || node < 1 || node > hosts) {
    throw new InvalidInputError(
      `no host ${String(node)} in this lab: hosts are 1 to ${hosts}, 'ext' or 'switch'`,
    )
  }
  return node
}

/** The marker value of SWARMNET_LAB_NODE: `1`, `2`, …, `ext`, `switch`. */
export function nodeId(node: LabNode): string {
  return String(node)
}

export function parseNodeId(id: string): LabNode | undefined {
  if (id === 'ext' || id === 'switch') return id
  if (/^[1-9][0-9]*$/.test(id)) return Number(id)
  return undefined
}

export function hostnameOf(lab: string, node: LabNode): string {
  return `${lab}-${node === 'switch' ? 'sw' : String(node)}`
}

export function hostAddress(i: number): string {
  return `192.0.2.${10 + i}`
}

export function addressOf(node: LabNode): string {
  if (node === 'ext') return EXT_ADDRESS
  if (node === 'switch') return UNDERLAY_GATEWAY
  return hostAddress(node)
}

export function stateDirOf(lab: string): string {
  return `${STATE_ROOT}/${lab}`
}

/** Order in which nodes are listed: switch, hosts 1..N, ext. */
export function compareNodes(a: LabNode, b: LabNode): number {
  const rank = (n: LabNode): number => (n === 'switch' ? 0 : n === 'ext' ? MAX_HOSTS + 1 : n)
  return rank(a) - rank(b)
}
