/**
 * A network's MTU: one value cluster-wide, fixed when the network is created and carried to
 * every node with the network. By default it is the smallest underlay MTU the nodes report
 * at that moment minus the vxlan overhead (Docker always uses 1500 − 50 and drops frames on
 * a 1460-byte cloud network); `--opt mtu=N` sets it. A node whose underlay cannot carry a
 * network's frames is warned about (node inspect, info, its log), never silently.
 */
import { InvalidInputError } from '@swarmnet/interface'

/** Bytes vxlan adds over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50
/** The underlay MTU assumed for nodes that report none (older agents). */
export const DEFAULT_UNDERLAY_MTU = 1500
/** Smallest network MTU: the smallest datagram every IPv4 host must accept (RFC 791). */
export const MIN_NETWORK_MTU = 576
/**
 * Largest network MTU one may ask for: what a jumbo-frame (9000) underlay carries, or what
 * the largest reported underlay carries when that is more (AWS: 9001).
 */
export const MAX_NETWORK_MTU = 9000 - VXLAN_OVERHEAD

/**
 * What ESP adds to each vxlan packet of an encrypted network: SPI 4 + sequence 4 + IV 8 +
 * pad length 1 + next header 1 + ICV 8 (GCM, 64-bit tag), plus up to 3 bytes of padding to a
 * 4-byte boundary, which rounding the MTU down to a multiple of 4 accounts for.
 */
export const ESP_OVERHEAD = 26

/**
 * The MTU a network gets when none is asked for: smallest reported underlay − overhead; an
 * encrypted one also − ESP, rounded down to a multiple of 4 (1500 → 1424, as Docker).
 */
export function defaultNetworkMtu(underlayMtus: readonly number[], encrypted = false): number {
  const smallest = underlayMtus.length === 0 ? DEFAULT_UNDERLAY_MTU : Math.min(...underlayMtus)
  const mtu = encrypted
    ? Math.floor((smallest - VXLAN_OVERHEAD - ESP_OVERHEAD) / 4) * 4
    : smallest - VXLAN_OVERHEAD
  return Math.max(MIN_NETWORK_MTU, mtu)
}

/** `--opt mtu=N` checked, or the default; throws InvalidInputError on bad input. */
export function networkMtu(
  option: string | undefined,
  underlayMtus: readonly number[],
  encrypted = false,
): number {
  if (option === undefined) return defaultNetworkMtu(underlayMtus, encrypted)
  const mtu = /^[0-9]{1,6}$/.test(option) ? Number(option) : Number.NaN
  if (!Number.isInteger(mtu))
    throw new InvalidInputError(`invalid --opt mtu=${option}: expected a number of bytes`)
  const max = Math.max(MAX_NETWORK_MTU, ...underlayMtus.map((m) => m - VXLAN_OVERHEAD))
  if (mtu < MIN_NETWORK_MTU || mtu > max)
    throw new InvalidInputError(
      `invalid --opt mtu=${option}: must be ${MIN_NETWORK_MTU}-${max} (the largest underlay, ${max + VXLAN_OVERHEAD}, carries ${max})`,
    )
  return mtu
}

/** One line per network whose frames (MTU + overhead) this node's underlay cannot carry. */
export function mtuWarnings(
  underlayMtu: number | undefined,
  networks: readonly { name: string; mtu: number }[],
): string[] {
  if (underlayMtu === undefined) return []
  return networks
    .filter((n) => n.mtu + VXLAN_OVERHEAD > underlayMtu)
    .map(
      (n) =>
        `underlay MTU ${underlayMtu} cannot carry network ${n.name} (MTU ${n.mtu} needs ${n.mtu + VXLAN_OVERHEAD}): larger packets are dropped`,
    )
}
