import type { Clock } from '@swarmnet/interface'

/** What the mesh knows about one connected peer. */
export type PeerEntry = (
  | { state: 'pending' }
  | { state: 'admitted'; nodeId: string; proof: Uint8Array; addr: string }
) & {
  /** The remote's verdict on our proof: undefined until it answers, false if it refused or failed. */
  acceptedUs?: boolean
}

/**
 * Admission state per peer id: pending → admitted, or refused (removed and banned). Peers are
 * keyed by peer id, not by connection: the proof is bound to the id and noise proves the id.
 */
export class PeerTable {
  readonly #entries = new Map<string, PeerEntry>()
  /** peer id → ban expiry (ms since the epoch, from the injected clock) */
  readonly #bans = new Map<string, number>()
  /** Members heard of through signed announcements (not necessarily connected): peer id → record */
  readonly #members = new Map<string, { nodeId: string; proof: Uint8Array; expires: number }>()
  readonly #clock: Clock
  readonly #banMs: number

  constructor(clock: Clock, banMs: number) {
    this.#clock = clock
    this.#banMs = banMs
  }

  get(peerId: string): PeerEntry | undefined {
    return this.#entries.get(peerId)
  }

  /** Records a connected peer as pending unless it is already known. */
  track(peerId: string): PeerEntry {
    let entry = this.#entries.get(peerId)
    if (entry === undefined) {
      entry = { state: 'pending' }
      this.#entries.set(peerId, entry)
    }
    return entry
  }

  /** Marks a tracked peer admitted; returns true when it was not admitted before. */
  admit(peerId: string, nodeId: string, proof: Uint8Array, addr: string): boolean {
    const before = this.#entries.get(peerId)
    const entry: PeerEntry = { state: 'admitted', nodeId, proof, addr }
    if (before?.acceptedUs !== undefined) entry.acceptedUs = before.acceptedUs
    this.#entries.set(peerId, entry)
    return before?.state !== 'admitted'
  }

  /** The node id of an admitted peer, else undefined. */
  nodeId(peerId: string): string | undefined {
    const entry = this.#entries.get(peerId)
    return entry?.state === 'admitted' ? entry.nodeId : undefined
  }

  /** The node id a message signer stands for: a connected admitted peer, or a live announced member. */
  signer(peerId: string): string | undefined {
    const direct = this.nodeId(peerId)
    if (direct !== undefined) return direct
    const member = this.#members.get(peerId)
    if (member === undefined) return undefined
    if (member.expires > this.#clock.now()) return member.nodeId
    this.#members.delete(peerId)
    return undefined
  }

  /** Whether this exact proof is already on record for a live member (no need to verify again). */
  knowsProof(peerId: string, proof: Uint8Array): boolean {
    const entry = this.#entries.get(peerId)
    const known = entry?.state === 'admitted' ? entry.proof : this.#members.get(peerId)?.proof
    return known !== undefined && this.signer(peerId) !== undefined && equalBytes(known, proof)
  }

  /** Records (or refreshes) an announced member; returns true when it was not known before. */
  learn(peerId: string, nodeId: string, proof: Uint8Array, ttlMs: number): boolean {
    const isNew = this.signer(peerId) === undefined
    this.#members.set(peerId, { nodeId, proof, expires: this.#clock.now() + ttlMs })
    return isNew
  }

  /** Every verified member we know: connected admitted peers and announced ones. */
  members(): Array<{ peerId: string; nodeId: string; proof: Uint8Array }> {
    const out = new Map(
      this.admitted().map(({ peerId, nodeId, proof }) => [peerId, { peerId, nodeId, proof }]),
    )
    for (const [peerId, m] of this.#members) {
      if (!out.has(peerId) && this.signer(peerId) !== undefined) out.set(peerId, { peerId, ...m })
    }
    return [...out.values()]
  }

  /** Forgets an announced member (revoked, no longer verifies). */
  forget(peerId: string): void {
    this.#members.delete(peerId)
  }

  /** Forgets a peer (disconnected or refused); returns what was known. */
  remove(peerId: string): PeerEntry | undefined {
    const entry = this.#entries.get(peerId)
    this.#entries.delete(peerId)
    return entry
  }

  ban(peerId: string): void {
    this.#bans.set(peerId, this.#clock.now() + this.#banMs)
  }

  isBanned(peerId: string): boolean {
    const until = this.#bans.get(peerId)
    if (until === undefined) return false
    if (until > this.#clock.now()) return true
    this.#bans.delete(peerId)
    return false
  }

  admitted(): Array<{ peerId: string; nodeId: string; proof: Uint8Array; addr: string }> {
    const out: Array<{ peerId: string; nodeId: string; proof: Uint8Array; addr: string }> = []
    for (const [peerId, entry] of this.#entries) {
      if (entry.state === 'admitted') out.push({ peerId, ...entry })
    }
    return out
  }

  count(state: PeerEntry['state']): number {
    let n = 0
    for (const entry of this.#entries.values()) if (entry.state === state) n++
    return n
  }

  clear(): void {
    this.#entries.clear()
    this.#members.clear()
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
