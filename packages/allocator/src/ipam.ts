import { AddressExhaustedError, AddressInUseError, InvalidAddressError } from './errors.js'
import type { AddressAllocation, NetworkAllocation, NetworkSnapshot } from './index.js'
import { type Block, contains, formatBlock, formatIPv4, parseIPv4 } from './ipv4.js'

type Kind = 'endpoint' | 'vip'

/**
 * The address space of one network: gateway and reserved addresses are never handed out;
 * endpoints and service VIPs share the rest, serially: the next free address after the one
 * handed out last, wrapping at the end of the subnet. A released address is thus reused as
 * late as possible, long after every node has dropped its old neighbour and FDB entries.
 */
export class NetworkIpam {
  readonly #holders = new Map<number, { kind: Kind; id: string }>()
  readonly #byId: Record<Kind, Map<string, number>> = { endpoint: new Map(), vip: new Map() }
  /** The address handed out last (the block's network address before the first). */
  #last: number

  constructor(
    readonly id: string,
    readonly name: string,
    readonly vni: number,
    readonly block: Block,
    readonly gateway: number,
    readonly reserved: ReadonlySet<number>,
  ) {
    this.#last = block.first
  }

  /** Resumes serial allocation after `ip` (from a snapshot). */
  resumeAfter(text: string): void {
    const ip = parseIPv4(text)
    if (ip !== undefined && contains(this.block, ip)) this.#last = ip
  }

  /** Returns the address `id` holds, allocating one (or `requested`) if it holds none. */
  allocate(kind: Kind, id: string, requested?: string): AddressAllocation {
    const held = this.#byId[kind].get(id)
    const want = requested === undefined ? undefined : this.#checkRequested(requested)
    if (held !== undefined) {
      if (want !== undefined && want !== held) {
        throw new AddressInUseError(
          `${kind} '${id}' already holds ${formatIPv4(held)} on network '${this.name}'; release it first`,
        )
      }
      return this.#result(held)
    }
    const ip = want ?? this.#nextFree()
    const holder = this.#holders.get(ip)
    if (holder !== undefined) {
      throw new AddressInUseError(
        `address ${formatIPv4(ip)} on network '${this.name}' is in use by ${holder.kind} '${holder.id}'`,
      )
    }
    this.#holders.set(ip, { kind, id })
    this.#byId[kind].set(id, ip)
    if (want === undefined) this.#last = ip
    return this.#result(ip)
  }

  release(kind: Kind, id: string): boolean {
    const ip = this.#byId[kind].get(id)
    if (ip === undefined) return false
    this.#byId[kind].delete(id)
    this.#holders.delete(ip)
    return true
  }

  info(): NetworkAllocation {
    return {
      id: this.id,
      name: this.name,
      vni: this.vni,
      subnet: formatBlock(this.block),
      gateway: formatIPv4(this.gateway),
      reserved: [...this.reserved].sort((a, b) => a - b).map(formatIPv4),
    }
  }

  snapshot(): NetworkSnapshot {
    const dump = (kind: Kind): Record<string, string> =>
      Object.fromEntries(
        [...this.#byId[kind]].sort(([a], [b]) => compare(a, b)).map(([id, ip]) => [id, formatIPv4(ip)]),
      )
    return {
      ...this.info(),
      endpoints: dump('endpoint'),
      vips: dump('vip'),
      ...(this.#last !== this.block.first ? { last: formatIPv4(this.#last) } : {}),
    }
  }

  #result(ip: number): AddressAllocation {
    return { networkId: this.id, ip: formatIPv4(ip), address: `${formatIPv4(ip)}/${this.block.prefix}` }
  }

  #usable(ip: number): boolean {
    return ip > this.block.first && ip < this.block.last && ip !== this.gateway && !this.reserved.has(ip)
  }

  #nextFree(): number {
    const size = this.block.last - this.block.first - 1
    for (let i = 1; i <= size; i++) {
      const ip = this.block.first + 1 + ((this.#last - this.block.first - 1 + i + size) % size)
      if (this.#usable(ip) && !this.#holders.has(ip)) return ip
    }
    throw new AddressExhaustedError(
      `no free address left in network '${this.name}' (${formatBlock(this.block)}); release endpoints or use a larger subnet`,
    )
  }

  #checkRequested(text: string): number {
    const ip = parseIPv4(text)
    if (ip === undefined) throw new InvalidAddressError(`'${text}' is not an IPv4 address like 10.0.0.5`)
    if (!contains(this.block, ip)) {
      throw new InvalidAddressError(
        `address ${text} is outside subnet ${formatBlock(this.block)} of network '${this.name}'`,
      )
    }
    if (!this.#usable(ip)) {
      throw new InvalidAddressError(
        `address ${text} is the network, broadcast, gateway or a reserved address of network '${this.name}'`,
      )
    }
    return ip
  }
}

/** Code-unit order, so snapshots are byte-for-byte deterministic. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
