/**
 * Observation of our IPsec state and of the vxlan guard table. iproute2 prints xfrm only as
 * text (`ip -j xfrm` is plain text too), so the two listings are parsed here by pure
 * functions, keeping only what carries our reqid/mark. The state listing holds key
 * material: it is parsed and dropped at once, never logged, never kept.
 */
import type { AbortOptions } from '@swarmnet/interface'
import type { Executor } from './executor.js'
import { NFT_GUARD_TABLE } from './names.js'
import { XFRM_MARK, XFRM_REQID } from './xfrm.js'

/** An SA by what identifies it. */
export interface XfrmStateKey {
  readonly src: string
  readonly dst: string
  readonly spi: number
}

/** An outbound policy of ours: marked vxlan from `src` to `dst` through the SA `spi`. */
export interface XfrmPolicy {
  readonly src: string
  readonly dst: string
  readonly dport: number
  readonly spi: number
}

export interface ObservedXfrm {
  /** ESP states with our reqid. */
  readonly states: readonly XfrmStateKey[]
  /** `dir out` policies with our mark and reqid. */
  readonly policies: readonly XfrmPolicy[]
}

/** The guard table (`ip swarmnet-vxlan`) as listed. */
export interface ObservedGuard {
  /** Rule comments per chain: `chain/comment`, in listing order. */
  readonly rules: readonly string[]
  /** Elements of each set, as listed (sorted). */
  readonly sets: ReadonlyMap<string, readonly string[]>
  /** Named counters: packets. */
  readonly counters: ReadonlyMap<string, number>
}

export const emptyXfrm: ObservedXfrm = { states: [], policies: [] }

/** Splits an `ip xfrm` listing into blocks, each starting at an unindented line. */
function blocks(text: string): string[][] {
  const out: string[][] = []
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue
    if (!/^\s/.test(line)) out.push([line.trim()])
    else out[out.length - 1]?.push(line.trim())
  }
  return out
}

const field = (words: readonly string[], name: string): string | undefined => {
  const i = words.indexOf(name)
  return i < 0 ? undefined : words[i + 1]
}

const bare = (addr: string | undefined): string | undefined => addr?.replace(/\/32$/, '')

/** Our ESP states in `ip xfrm state list` output. */
export function parseXfrmStates(text: string): XfrmStateKey[] {
  const out: XfrmStateKey[] = []
  for (const b of blocks(text)) {
    const head = (b[0] ?? '').split(/\s+/)
    const id = (b[1] ?? '').split(/\s+/)
    const src = field(head, 'src')
    const dst = field(head, 'dst')
    const spi = field(id, 'spi')
    if (src === undefined || dst === undefined || spi === undefined) continue
    if (field(id, 'proto') !== 'esp' || field(id, 'reqid') !== String(XFRM_REQID)) continue
    out.push({ src, dst, spi: Number.parseInt(spi, 16) >>> 0 })
  }
  return out
}

/** Our outbound policies in `ip xfrm policy list` output. */
export function parseXfrmPolicies(text: string): XfrmPolicy[] {
  const out: XfrmPolicy[] = []
  for (const b of blocks(text)) {
    const words = b.join(' ').split(/\s+/)
    const src = bare(field(words, 'src'))
    const dst = bare(field(words, 'dst'))
    const mark = field(words, 'mark')?.split('/')[0]
    const spi = field(words, 'spi')
    if (src === undefined || dst === undefined || spi === undefined) continue
    if (field(words, 'dir') !== 'out' || mark === undefined || Number(mark) !== XFRM_MARK) continue
    if (field(words, 'reqid') !== String(XFRM_REQID)) continue
    out.push({ src, dst, dport: Number(field(words, 'dport') ?? -1), spi: Number.parseInt(spi, 16) >>> 0 })
  }
  return out
}

/** Separates the two listings in one observation process. */
const SEPARATOR = '@@swarmnet-policies@@'

/** One process: states (our reqid only) then policies. */
export async function observeXfrm(exec: Executor, options?: AbortOptions): Promise<ObservedXfrm> {
  const script = `ip xfrm state list reqid ${XFRM_REQID}; echo ${SEPARATOR}; ip xfrm policy list dir out`
  const out = await exec.tryRun(['sh', '-c', script], options)
  const [states = '', policies = ''] = out.stdout.split(SEPARATOR)
  return { states: parseXfrmStates(states), policies: parseXfrmPolicies(policies) }
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {}

/** The guard table in `nft -j list ruleset` output, or undefined when it does not exist. */
export function parseGuard(json: unknown): ObservedGuard | undefined {
  const items = obj(json).nftables
  if (!Array.isArray(items)) return undefined
  const ours = (o: Json): boolean => o.family === 'ip' && o.table === NFT_GUARD_TABLE
  let found = false
  const rules: string[] = []
  const sets = new Map<string, string[]>()
  const counters = new Map<string, number>()
  for (const item of items.map(obj)) {
    const table = obj(item.table)
    if (table.family === 'ip' && table.name === NFT_GUARD_TABLE) found = true
    const rule = obj(item.rule)
    if (ours(rule))
      rules.push(`${String(rule.chain)}/${typeof rule.comment === 'string' ? rule.comment : ''}`)
    const set = obj(item.set)
    if (ours(set) && typeof set.name === 'string') {
      const elems = Array.isArray(set.elem) ? set.elem.map((e) => String(e)) : []
      sets.set(set.name, elems.sort())
    }
    const counter = obj(item.counter)
    if (ours(counter) && typeof counter.name === 'string')
      counters.set(counter.name, typeof counter.packets === 'number' ? counter.packets : 0)
  }
  return found ? { rules, sets, counters } : undefined
}
