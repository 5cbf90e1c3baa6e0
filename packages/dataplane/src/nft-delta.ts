/**
 * The element-level nft delta shared by the chain-less tables (the LB's `swarmnet-lb`, the
 * ingress namespace's and the host's `swarmnet-ingress`): a table is read into
 * {@link NftTable} (chains → rule comments, sets → elements, maps → key → value, all as nft
 * text), the desired one is built in the same shape, and ONE `nft -f` transaction carries
 * only what differs. Every rule carries `comment "sn:<hash of its text>"`, so rule lists
 * compare by comments.
 *
 * Order of the lines, and why: missing sets and maps are added first (`add set` is
 * idempotent; a rule or an element needs its set), then element deletes before element adds
 * (a map value that changes is a delete + add: adding an existing key with another value is
 * refused, EEXIST), then each chain whose rule list differs is rewritten (flush + rules),
 * BEFORE the sets and maps no longer wanted are deleted, last (a set a rule references
 * cannot be deleted). A transaction is atomic: refused as a whole, nothing changes.
 */
import { createHash } from 'node:crypto'
import type { ObservedLbTable } from './observe-lb.js'

/** A table's chains (→ rule comments), sets (→ elements) and maps (→ key → value), as nft text. */
export type NftTable = ObservedLbTable

export const commentOf = (rule: string): string =>
  `sn:${createHash('sha256').update(rule).digest('hex').slice(0, 12)}`

export const withComment = (rule: string): string => `${rule} comment "${commentOf(rule)}"`

/** The comments a chain with these rules shows in `nft -j` output. */
export const commentsOf = (rules: readonly string[]): string[] => rules.map(commentOf)

export const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

/** Elements of a delta line in one order whatever the order they were read in. */
const sorted = (items: Iterable<string>): string => [...items].sort().join(', ')

/** How one table is written: its name, and the declaration of each of its sets and maps. */
export interface NftTableShape {
  /** `ip swarmnet-lb` */
  readonly table: string
  /** `type ipv4_addr;`, `typeof … : …;` */
  declare(name: string): string
  /** Sets and maps of `have` that are not wanted and may be deleted (others are left alone). @default all */
  owns?(name: string): boolean
}

/**
 * The lines from `have` to `want` (same skeleton), in the order of the module note; the
 * chains of `rules` are rewritten when their comments differ from `have`'s.
 */
export function nftDelta(
  shape: NftTableShape,
  have: NftTable,
  want: NftTable,
  rules: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  const T = shape.table
  const adds: string[] = []
  const deletes: string[] = []
  const inserts: string[] = []
  for (const [name, elems] of want.sets) {
    const cur = have.sets.get(name)
    if (cur === undefined) adds.push(`add set ${T} ${name} { ${shape.declare(name)} }`)
    const gone = [...(cur ?? [])].filter((e) => !elems.has(e))
    const come = [...elems].filter((e) => cur?.has(e) !== true)
    if (gone.length > 0) deletes.push(`delete element ${T} ${name} { ${sorted(gone)} }`)
    if (come.length > 0) inserts.push(`add element ${T} ${name} { ${sorted(come)} }`)
  }
  for (const [name, elems] of want.maps) {
    const cur = have.maps.get(name)
    if (cur === undefined) adds.push(`add map ${T} ${name} { ${shape.declare(name)} }`)
    const gone = [...(cur ?? [])].filter(([k, v]) => elems.get(k) !== v).map(([k]) => k)
    const come = [...elems].filter(([k, v]) => cur?.get(k) !== v).map(([k, v]) => `${k} : ${v}`)
    if (gone.length > 0) deletes.push(`delete element ${T} ${name} { ${sorted(gone)} }`)
    if (come.length > 0) inserts.push(`add element ${T} ${name} { ${sorted(come)} }`)
  }
  const rewrites: string[] = []
  for (const [chain, list] of rules) {
    if (sameList(have.chains.get(chain), commentsOf(list))) continue
    rewrites.push(`flush chain ${T} ${chain}`)
    for (const r of list) rewrites.push(`add rule ${T} ${chain} ${withComment(r)}`)
  }
  const owns = shape.owns ?? (() => true)
  const stale: string[] = []
  for (const name of have.sets.keys())
    if (!want.sets.has(name) && owns(name)) stale.push(`delete set ${T} ${name}`)
  for (const name of have.maps.keys())
    if (!want.maps.has(name) && owns(name)) stale.push(`delete map ${T} ${name}`)
  const lines = [...adds, ...deletes, ...inserts, ...rewrites, ...stale]
  return lines.length === 0 ? undefined : lines.join('\n')
}

/**
 * A whole table definition (sets, maps, chains with their base-chain specs and rules) in nft
 * syntax, to follow `table … {}` + `delete table …` or stand alone.
 */
export function tableDefinition(
  shape: NftTableShape,
  want: NftTable,
  chains: ReadonlyMap<string, { readonly spec: string; readonly rules: readonly string[] }>,
): string[] {
  const lines = [`table ${shape.table} {`]
  for (const [name, elems] of want.sets) {
    lines.push(`  set ${name} {`, `    ${shape.declare(name)}`)
    if (elems.size > 0) lines.push(`    elements = { ${[...elems].join(', ')} }`)
    lines.push('  }')
  }
  for (const [name, elems] of want.maps) {
    lines.push(`  map ${name} {`, `    ${shape.declare(name)}`)
    if (elems.size > 0)
      lines.push(`    elements = { ${[...elems].map(([k, v]) => `${k} : ${v}`).join(', ')} }`)
    lines.push('  }')
  }
  for (const [name, { spec, rules }] of chains)
    lines.push(
      `  chain ${name} {`,
      ...(spec === '' ? [] : [`    ${spec}`]),
      ...rules.map((r) => `    ${withComment(r)}`),
      '  }',
    )
  lines.push('}')
  return lines
}
