import { hashEntries, type Stamped, serviceKey } from './hash.js'
import type { LocalEntry } from './types.js'

/** This node's own entries on one network, each with the Lamport time of its last change. */
export class LocalSet {
  readonly #entries = new Map<string, Stamped>()
  #digest: { count: number; hash: string } | undefined
  /** Lamport time of the last change (0: never changed). */
  version = 0

  get size(): number {
    return this.#entries.size
  }

  /** What changes turn the current set into `next` (keyed by IP). */
  diff(next: readonly LocalEntry[]): { adds: LocalEntry[]; dels: string[] } {
    const wanted = new Map(next.map((e) => [e.ip, e]))
    const adds: LocalEntry[] = []
    for (const e of wanted.values()) {
      const cur = this.#entries.get(e.ip)
      if (
        cur === undefined ||
        cur.mac !== e.mac ||
        cur.vtep !== e.vtep ||
        serviceKey(cur.svc) !== serviceKey(e.svc)
      )
        adds.push(e)
    }
    const dels = [...this.#entries.keys()].filter((ip) => !wanted.has(ip))
    return { adds, dels }
  }

  /** Applies a diff at time `l`; returns the stamped adds. */
  apply(adds: readonly LocalEntry[], dels: readonly string[], l: number): Stamped[] {
    const stamped = adds.map((e) => ({
      ip: e.ip,
      mac: e.mac,
      vtep: e.vtep,
      l,
      ...(e.svc ? { svc: e.svc } : {}),
    }))
    for (const e of stamped) this.#entries.set(e.ip, e)
    for (const ip of dels) this.#entries.delete(ip)
    this.version = l
    this.#digest = undefined
    return stamped
  }

  /** Gives every entry time `l` (so it beats whatever an earlier incarnation published). */
  restamp(l: number): void {
    for (const e of this.#entries.values()) e.l = l
    this.version = l
    this.#digest = undefined
  }

  values(): Stamped[] {
    return [...this.#entries.values()].map((e) => ({ ...e }))
  }

  digest(): { count: number; hash: string } {
    this.#digest ??= { count: this.#entries.size, hash: hashEntries(this.#entries.values()) }
    return this.#digest
  }
}
