/**
 * The underlay as `ip -batch` text, one batch per namespace (pure functions).
 *
 * Ordering: the switch batch runs first — it creates the bridge and, for each host, a veth
 * pair whose `eth0` end is created directly in the host's namespace (`netns <pid>`), plus
 * the routed link to ext. Only then can the host and ext batches address `eth0` and add
 * their default route. IPv4 forwarding on the switch is set by its holder script.
 */
import { EXT_ADDRESS, EXT_GATEWAY, hostAddress, UNDERLAY_GATEWAY, UNDERLAY_PREFIX } from './naming.js'

export function switchBatch(
  hostPids: ReadonlyArray<readonly [host: number, pid: number]>,
  extPid: number,
  mtu = 1500,
): string {
  const lines = [
    'link set lo up',
    `link add br0 mtu ${mtu} type bridge`,
    `addr add ${UNDERLAY_GATEWAY}/${UNDERLAY_PREFIX} dev br0`,
    'link set br0 up',
  ]
  for (const [host, pid] of hostPids) {
    lines.push(
      `link add h${host} mtu ${mtu} type veth peer name eth0 netns ${pid} mtu ${mtu}`,
      `link set h${host} master br0`,
      `link set h${host} up`,
    )
  }
  lines.push(
    `link add x0 type veth peer name eth0 netns ${extPid}`,
    `addr add ${EXT_GATEWAY}/24 dev x0`,
    'link set x0 up',
  )
  return `${lines.join('\n')}\n`
}

export function hostBatch(host: number): string {
  return endpointBatch(`${hostAddress(host)}/${UNDERLAY_PREFIX}`, UNDERLAY_GATEWAY)
}

export function extBatch(): string {
  return endpointBatch(`${EXT_ADDRESS}/24`, EXT_GATEWAY)
}

function endpointBatch(cidr: string, gateway: string): string {
  return [
    'link set lo up',
    `addr add ${cidr} dev eth0`,
    'link set eth0 up',
    `route add default via ${gateway}`,
    '',
  ].join('\n')
}
