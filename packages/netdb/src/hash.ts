import { createHash } from 'node:crypto'

/** What a digest covers of one entry. */
export interface Stamped {
  ip: string
  mac: string
  vtep: string
  l: number
}

/** Digest hash of an owner's live entries: first 64 bits of sha256 over them sorted by IP, hex. */
export function hashEntries(entries: Iterable<Stamped>): string {
  const lines: string[] = []
  for (const e of entries) lines.push(`${e.ip} ${e.mac} ${e.vtep} ${e.l}\n`)
  lines.sort()
  const h = createHash('sha256')
  for (const line of lines) h.update(line)
  return h.digest('hex').slice(0, 16)
}

/** The hash of no entries. */
export const EMPTY_HASH = hashEntries([])
