/**
 * Every kernel name the dataplane creates, in one place.
 *
 * Linux limits interface names to 15 characters (IFNAMSIZ − 1); the tests check every
 * generator against that limit with the largest inputs. Namespace names have no such
 * limit, but we keep them within 15 too so `ip netns` listings stay readable. All names
 * start with a fixed prefix, so observation can tell ours from everybody else's and a
 * reconcile may delete what it recognises and nothing else.
 *
 * | object                              | name                     | where            |
 * |-------------------------------------|--------------------------|------------------|
 * | overlay network namespace           | `sn-ov-<vni>`            | `ip netns`       |
 * | vxlan, while still in the host ns   | `sn-vx-<vni, 6 hex>`     | host, transient  |
 * | vxlan / bridge inside the overlay   | `vxlan0` / `br0`         | overlay ns       |
 * | endpoint (task) sandbox namespace   | `sn-ep-<key>`            | `ip netns`       |
 * | endpoint veth, overlay side         | `ve-<key>`               | overlay ns       |
 * | endpoint veth, sandbox side         | `eth<i>` (i = attachment)| sandbox ns       |
 * | gateway leg, host side / inside     | `sngw-<key>` / `gwbr0`   | host / sandbox   |
 * | gateway bridge                      | `sn_gwbridge`            | host             |
 * | service load balancer namespace     | `sn-lb-<vni>`            | `ip netns`       |
 * | LB veth, overlay side / inside      | `lb-<vni>` / `eth0`      | overlay / LB ns  |
 * | LB nft table (own planner)          | `ip swarmnet-lb`         | LB ns            |
 * | LB sets and maps (lb-nft.ts)        | `live-K`, `bk-K`, `none`, `backends` | LB ns |
 * | vxlan guard nft table (guard.ts)    | `ip swarmnet-vxlan`      | host             |
 * | ingress leg, host side / inside     | `sngw-_<vni>` / `gwbr0`  | host / LB ns     |
 * | ingress nft table (ingress.ts)      | `ip swarmnet-ingress`    | host and LB ns   |
 * | operators' chain in it              | `user` (never written)   | host             |
 * | iptables chain (coexistence)        | `SWARMNET-FORWARD`       | host filter      |
 * | task REDIRECT table (sandbox.ts)    | `ip swarmnet-task`       | sandbox ns       |
 * | ESP SAs / policies (xfrm.ts)        | reqid and mark 0xD0C4E3  | host             |
 *
 * `<key>` is the endpoint id when it is at most 8 characters of `[a-z0-9]`, otherwise its
 * first 3 sanitised characters plus 6 hex digits of its SHA-256 (always 9 characters, so
 * the two forms never collide).
 */
import { createHash } from 'node:crypto'

/** Linux IFNAMSIZ − 1. */
export const IFNAME_MAX = 15

export const PREFIX = 'sn-'
export const OVERLAY_NS_PREFIX = 'sn-ov-'
export const SANDBOX_NS_PREFIX = 'sn-ep-'
export const VXLAN_CREATE_PREFIX = 'sn-vx-'
export const OVERLAY_VETH_PREFIX = 've-'
export const GATEWAY_VETH_PREFIX = 'sngw-'
export const LB_NS_PREFIX = 'sn-lb-'
export const LB_VETH_PREFIX = 'lb-'
export const LB_LEG = 'eth0'

export const BRIDGE = 'br0'
export const VXLAN = 'vxlan0'
export const GATEWAY_LEG = 'gwbr0'
export const DEFAULT_GATEWAY_BRIDGE = 'sn_gwbridge'

/** nftables tables of our own (families ip and bridge). */
export const NFT_TABLE = 'swarmnet'
/** The load balancer's own table, in each LB namespace (never touched by the gateway planner). */
export const NFT_LB_TABLE = 'swarmnet-lb'
/** The vxlan guard (member-only admission, encrypted VNIs), host namespace (guard.ts). */
export const NFT_GUARD_TABLE = 'swarmnet-vxlan'
/** The ingress routing mesh: in the host (DNAT of published ports) and in the ingress (LB) namespace. */
export const NFT_INGRESS_TABLE = 'swarmnet-ingress'
/** The operators' chain in the host's ingress table (Docker's DOCKER-USER): created, never written. */
export const INGRESS_USER_CHAIN = 'user'
/** A task's REDIRECTs of published ports, in its sandbox. */
export const NFT_TASK_TABLE = 'swarmnet-task'
/** Our chain in iptables' filter table, jumped to from FORWARD (hosts whose FORWARD policy is DROP). */
export const IPTABLES_FORWARD_CHAIN = 'SWARMNET-FORWARD'
/** Host-side names of ingress legs (`_` never occurs in an endpoint key: no clash with theirs). */
export const INGRESS_VETH_PREFIX = 'sngw-_'

export function overlayNamespace(vni: number): string {
  return `${OVERLAY_NS_PREFIX}${vni}`
}

function vniAfter(prefix: string, name: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined
  const rest = name.slice(prefix.length)
  return /^[1-9][0-9]{0,7}$/.test(rest) ? Number(rest) : undefined
}

/** The VNI of an overlay namespace name, or undefined when the name is not one of ours. */
export function vniOfOverlayNamespace(name: string): number | undefined {
  return vniAfter(OVERLAY_NS_PREFIX, name)
}

export function vxlanCreateName(vni: number): string {
  return `${VXLAN_CREATE_PREFIX}${vni.toString(16).padStart(6, '0')}`
}

export function endpointKey(endpointId: string): string {
  if (/^[a-z0-9]{1,8}$/.test(endpointId)) return endpointId
  const clean = endpointId.toLowerCase().replace(/[^a-z0-9]/g, '')
  const hash = createHash('sha256').update(endpointId).digest('hex')
  return `${clean.slice(0, 3).padEnd(3, 'x')}${hash.slice(0, 6)}`
}

export function sandboxNamespace(endpointId: string): string {
  return `${SANDBOX_NS_PREFIX}${endpointKey(endpointId)}`
}

export function overlayVeth(endpointId: string): string {
  return `${OVERLAY_VETH_PREFIX}${endpointKey(endpointId)}`
}

export function gatewayVeth(endpointId: string): string {
  return `${GATEWAY_VETH_PREFIX}${endpointKey(endpointId)}`
}

export function endpointInterface(index: number): string {
  return `eth${index}`
}

/** Index of an `eth<i>` name, or undefined. */
export function indexOfEndpointInterface(name: string): number | undefined {
  const m = /^eth([0-9]{1,3})$/.exec(name)
  return m?.[1] === undefined ? undefined : Number(m[1])
}

export function lbNamespace(vni: number): string {
  return `${LB_NS_PREFIX}${vni}`
}

/** The VNI of an LB namespace name, or undefined when the name is not one of ours. */
export function vniOfLbNamespace(name: string): number | undefined {
  return vniAfter(LB_NS_PREFIX, name)
}

/** The host end of the ingress namespace's leg on the gateway bridge. */
export function ingressVeth(vni: number): string {
  return `${INGRESS_VETH_PREFIX}${vni}`
}

/** The overlay-namespace end of the LB namespace's leg into `br0`. */
export function lbVeth(vni: number): string {
  return `${LB_VETH_PREFIX}${vni}`
}
