import { hashEntries, type Stamped } from './hash.js'
import type { EntryService } from './types.js'

/** One IP of an owner as a receiver holds it: live, or a tombstone until `expiresAt`. */
interface Slot {
  mac: string
  vtep: string
  svc: EntryService | undefined
  l: number
  deleted: boolean
  expiresAt: number
}

/**
 * A receiver's view of one owner's entries on one network. An update is applied only if its
 * Lamport time is strictly greater than the one held for that IP (live or tombstone).
 */
export class OwnerView {
  readonly #slots = new Map<string, Slot>()
  #digest: { count: number; hash: string } | undefined
  /** Newest Lamport time ever seen from this owner here (survives tombstone purges). */
  maxL = 0
  /** When we last heard from the owner on this network. */
  lastHeard: number

  constructor(now: number) {
    this.lastHeard = now
  }

  /** Returns true if the live set changed; false if stale or identical. */
  add(e: Stamped): boolean {
    this.maxL = Math.max(this.maxL, e.l)
    const slot = this.#slots.get(e.ip)
    if (slot !== undefined && e.l <= slot.l) return false
    this.#slots.set(e.ip, { mac: e.mac, vtep: e.vtep, svc: e.svc, l: e.l, deleted: false, expiresAt: 0 })
    this.#digest = undefined
    return true
  }

  /** Returns true if a live entry went away. A delete of an unknown IP still leaves a tombstone. */
  delete(ip: string, l: number, expiresAt: number): boolean {
    this.maxL = Math.max(this.maxL, l)
    const slot = this.#slots.get(ip)
    if (slot !== undefined && l <= slot.l) return false
    this.#slots.set(ip, { mac: '', vtep: '', svc: undefined, l, deleted: true, expiresAt })
    this.#digest = undefined
    return slot !== undefined && !slot.deleted
  }

  /**
   * The end of a full snapshot at time `l`: every live entry not in it and not newer than it is
   * deleted (tombstoned at `l`). Returns true if anything was deleted.
   */
  retainOnly(listed: ReadonlySet<string>, l: number, expiresAt: number): boolean {
    this.maxL = Math.max(this.maxL, l)
    let changed = false
    for (const [ip, slot] of this.#slots) {
      if (slot.deleted || slot.l > l || listed.has(ip)) continue
      this.#slots.set(ip, { ...slot, l, deleted: true, expiresAt })
      changed = true
    }
    if (changed) this.#digest = undefined
    return changed
  }

  /** Drops tombstones whose time is up; returns how many. */
  purge(now: number): number {
    let n = 0
    for (const [ip, slot] of this.#slots) {
      if (slot.deleted && slot.expiresAt <= now) {
        this.#slots.delete(ip)
        n++
      }
    }
    return n
  }

  *live(): Generator<Stamped> {
    for (const [ip, s] of this.#slots)
      if (!s.deleted) yield { ip, mac: s.mac, vtep: s.vtep, l: s.l, ...(s.svc ? { svc: s.svc } : {}) }
  }

  get liveCount(): number {
    return this.digest().count
  }

  get tombstones(): number {
    let n = 0
    for (const s of this.#slots.values()) if (s.deleted) n++
    return n
  }

  /** Count and hash of the live entries, comparable with the owner's digest. */
  digest(): { count: number; hash: string } {
    if (this.#digest === undefined) {
      const live = [...this.live()]
      this.#digest = { count: live.length, hash: hashEntries(live) }
    }
    return this.#digest
  }
}
