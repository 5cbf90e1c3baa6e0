import { createHash } from 'node:crypto'
import type { EntryService } from './types.js'

/** What a digest covers of one entry. */
export interface Stamped {
  ip: string
  mac: string
  vtep: string
  l: number
  svc?: EntryService
}

/** The service part of an entry as one comparable string ('' for none). */
export const serviceKey = (svc: EntryService | undefined): string =>
  svc === undefined
    ? ''
    : JSON.stringify([
        svc.id,
        svc.name,
        svc.vip,
        svc.aliases,
        svc.disabled,
        // only when present: the digests of records without ports stay those of older nodes
        ...(svc.ports !== undefined ? [svc.ports] : []),
      ])

/** Digest hash of an owner's live entries: first 64 bits of sha256 over them sorted by IP, hex. */
export function hashEntries(entries: Iterable<Stamped>): string {
  const lines: string[] = []
  for (const e of entries) lines.push(`${e.ip} ${e.mac} ${e.vtep} ${e.l} ${serviceKey(e.svc)}\n`)
  lines.sort()
  const h = createHash('sha256')
  for (const line of lines) h.update(line)
  return h.digest('hex').slice(0, 16)
}

/** The hash of no entries. */
export const EMPTY_HASH = hashEntries([])
