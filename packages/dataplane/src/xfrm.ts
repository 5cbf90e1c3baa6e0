/**
 * Planner for IPsec (ESP) between this node's VTEP and the VTEPs of its encrypted networks
 * (reference §6.2): per remote VTEP an inbound SA for every key of the keyring, an outbound
 * SA for the primary key, and one outbound policy that sends only MARKED vxlan (the guard
 * table marks the vxlan of encrypted VNIs, guard.ts) through that outbound SA. ESP transport
 * mode, `rfc4106(gcm(aes))` with a 16-byte key || 4-byte salt, ICV 64 bits, extended
 * sequence numbers (a 32-bit counter runs out after 2³² packets: about 80 min at 10 Gbit/s).
 * SPIs are derived on both ends (see {@link deriveSpi}); nothing is negotiated.
 *
 * Order, and why (one `ip -batch -` in the host namespace; §6.4 of the reference):
 * 1. inbound SAs of new keys added — a peer may start sending with a key as soon as it is its
 *    primary, and the newest key is never primary, so every node has it before anyone sends;
 * 2. the outbound SA of the primary added;
 * 3. the policy added, or UPDATED in place to the new SPI (never deleted and re-added: a
 *    packet between the two would leave in clear or be dropped);
 * 4. policies of VTEPs that no longer carry an encrypted network deleted;
 * 5. outbound SAs no policy points at any more deleted;
 * 6. inbound SAs of keys that left the keyring deleted (no peer sends with them: the
 *    keyring drops its oldest key, which stopped being primary a rotation ago).
 * Steps 1–3 come before the guard table's update (which starts marking a new encrypted VNI)
 * and 4–6 after it (node.ts). A marked packet that finds no policy anyway (keys not yet
 * delivered, a failed step) is dropped by the guard's postrouting chain, never sent in clear.
 * Keys never appear in a step's description (`secretArgs`) nor in a log line.
 */
import type { ObservedXfrm, XfrmStateKey } from './observe-xfrm.js'
import { type IpStep, ip, type Step } from './plan.js'
import type { CheckedEncryption, CheckedNetwork, NodeConfig } from './spec.js'

/** Docker's request id and firewall mark (0xD0C4E3): our states and policies carry it. */
export const XFRM_REQID = 13681891
/** The mark the guard table's output chain puts on vxlan of encrypted VNIs. */
export const XFRM_MARK = 0xd0c4e3
/** ICV length of the AEAD, in bits. */
export const ICV_BITS = 64
/** Replay window of inbound SAs (packets), carried in the ESN replay state. */
export const REPLAY_WINDOW = 128

/** The owner of one remote VTEP's SAs and policy (a failure there spares other peers). */
export const xfrmOwner = (vtep: string): string => `xfrm:${vtep}`

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** An IPv4 address as 16 bytes (IPv4-mapped IPv6, `::ffff:a.b.c.d`). */
function mapped(ipv4: string): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ipv4.split('.').map(Number)]
}

/**
 * SPI of the SA from `src` to `dst` under the key tagged `tag`: FNV-1a 32 over
 * `src (16 bytes, IPv4-mapped) || tag (big-endian uint32) || dst (16 bytes)`, as Docker
 * derives it, so both ends compute the same value without talking. SPIs 0–255 are reserved
 * (RFC 4303): a result below 256 gets bit 8 set (both ends do the same).
 */
export function deriveSpi(src: string, dst: string, tag: number): number {
  const tagBytes = [(tag >>> 24) & 0xff, (tag >>> 16) & 0xff, (tag >>> 8) & 0xff, tag & 0xff]
  let h = FNV_OFFSET
  for (const b of [...mapped(src), ...tagBytes, ...mapped(dst)]) {
    h ^= b
    h = Math.imul(h, FNV_PRIME) >>> 0
  }
  return h < 0x100 ? (h | 0x100) >>> 0 : h
}

export const spiHex = (spi: number): string => `0x${spi.toString(16).padStart(8, '0')}`

/** The remote VTEPs this node exchanges encrypted vxlan with: peers of its encrypted networks. */
export function encryptedVteps(networks: readonly CheckedNetwork[], cfg: NodeConfig): string[] {
  const out = new Set<string>()
  for (const n of networks)
    if (n.encrypted) for (const p of n.peers) if (p.vtep !== cfg.advertiseAddress) out.add(p.vtep)
  return [...out].sort()
}

interface WantedState extends XfrmStateKey {
  readonly key: string
}

const stateId = (s: XfrmStateKey): string => `${s.src}>${s.dst}/${s.spi}`

function stateAdd(s: WantedState, owner: string): IpStep {
  const spi = spiHex(s.spi)
  // key material: the key, then the salt (the SPI, big-endian), 20 bytes in all
  const material = `0x${s.key}${spi.slice(2)}`
  const args = [
    'xfrm',
    'state',
    'add',
    'src',
    s.src,
    'dst',
    s.dst,
    'proto',
    'esp',
    'spi',
    spi,
    'reqid',
    String(XFRM_REQID),
    'mode',
    'transport',
    'flag',
    'esn',
    'replay-window',
    String(REPLAY_WINDOW),
    'aead',
    'rfc4106(gcm(aes))',
    material,
    String(ICV_BITS),
  ]
  return { ...ip(undefined, ...args), secretArgs: [args.indexOf(material)], owners: [owner] }
}

function stateDel(s: XfrmStateKey, owner: string): IpStep {
  const args = ['xfrm', 'state', 'del', 'src', s.src, 'dst', s.dst, 'proto', 'esp', 'spi', spiHex(s.spi)]
  return { ...ip(undefined, ...args), owners: [owner] }
}

function policyArgs(verb: 'add' | 'update', local: string, remote: string, port: number, spi: number) {
  return [
    'xfrm',
    'policy',
    verb,
    'dir',
    'out',
    'src',
    `${local}/32`,
    'dst',
    `${remote}/32`,
    'proto',
    'udp',
    'dport',
    String(port),
    'mark',
    spiHex(XFRM_MARK),
    'mask',
    '0xffffffff',
    'tmpl',
    'src',
    local,
    'dst',
    remote,
    'proto',
    'esp',
    'spi',
    spiHex(spi),
    'reqid',
    String(XFRM_REQID),
    'mode',
    'transport',
  ]
}

/** The xfrm steps, split around the guard table's update (see the module note). */
export interface XfrmPlan {
  /** Steps 1–3: before the guard marks more. */
  readonly install: readonly Step[]
  /** Steps 4–6: after the guard marks less. */
  readonly prune: readonly Step[]
}

/**
 * Plans SAs and policies for `vteps` under `encryption` against the observed xfrm state.
 * Without keys nothing is wanted: marked packets then find no policy and the guard drops them.
 */
export function planXfrm(
  vteps: readonly string[],
  encryption: CheckedEncryption | undefined,
  cfg: NodeConfig,
  observed: ObservedXfrm,
): XfrmPlan {
  const local = cfg.advertiseAddress
  const port = cfg.dataPathPort
  const keys = encryption?.keys ?? []
  const primary = keys.find((k) => k.tag === encryption?.primary)
  const haveStates = new Map(observed.states.map((s) => [stateId(s), s]))
  const havePolicies = new Map(observed.policies.map((p) => [p.dst, p]))
  const want = new Set<string>()
  const install: Step[] = []
  const policies: Step[] = []
  const prune: Step[] = []

  const wanted = primary === undefined ? [] : vteps
  for (const remote of wanted) {
    if (primary === undefined) break
    const owner = xfrmOwner(remote)
    const inbound: WantedState[] = keys.map((k) => ({
      src: remote,
      dst: local,
      spi: deriveSpi(remote, local, k.tag),
      key: k.key,
    }))
    const fwd = deriveSpi(local, remote, primary.tag)
    const outbound: WantedState = { src: local, dst: remote, spi: fwd, key: primary.key }
    for (const s of [...inbound, outbound]) {
      want.add(stateId(s))
      if (!haveStates.has(stateId(s))) install.push(stateAdd(s, owner))
    }
    const have = havePolicies.get(remote)
    const verb = have === undefined ? 'add' : 'update'
    if (have === undefined || have.spi !== fwd || have.src !== local || have.dport !== port)
      policies.push({ ...ip(undefined, ...policyArgs(verb, local, remote, port, fwd)), owners: [owner] })
  }
  const wantedSet = new Set(wanted)
  for (const p of observed.policies) {
    if (wantedSet.has(p.dst)) continue
    const args = [
      ...['xfrm', 'policy', 'del', 'dir', 'out', 'src', `${p.src}/32`, 'dst', `${p.dst}/32`],
      ...['proto', 'udp', 'dport', String(p.dport), 'mark', spiHex(XFRM_MARK), 'mask', '0xffffffff'],
    ]
    prune.push({ ...ip(undefined, ...args), owners: [xfrmOwner(p.dst)] })
  }
  // stale outbound SAs first (no policy points at them any more), then inbound ones
  const stale = observed.states.filter((s) => !want.has(stateId(s)))
  const outboundFirst = [...stale].sort((a, b) => Number(b.src === local) - Number(a.src === local))
  for (const s of outboundFirst) prune.push(stateDel(s, xfrmOwner(s.src === local ? s.dst : s.src)))
  return { install: [...install, ...policies], prune }
}
