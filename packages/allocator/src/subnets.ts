import { InvalidAddressError, InvalidGatewayError, PoolExhaustedError, SubnetOverlapError } from './errors.js'
import type { NetworkRequest } from './index.js'
import type { NetworkIpam } from './ipam.js'
import {
  type Block,
  blockAt,
  blockSize,
  contains,
  formatBlock,
  formatIPv4,
  overlaps,
  parseBlock,
  parseIPv4,
} from './ipv4.js'

/** Where new networks' subnets come from when the request names none. */
export interface PoolConfig {
  readonly pools: readonly Block[]
  readonly subnetSize: number
}

export interface SubnetChoice {
  block: Block
  gateway: number
  reserved: Set<number>
}

/** Picks and validates the subnet, gateway and reserved addresses of a new network. */
export function chooseSubnet(
  request: NetworkRequest,
  existing: Iterable<NetworkIpam>,
  pool: PoolConfig,
): SubnetChoice {
  const networks = [...existing]
  const avoid = (request.avoid ?? []).flatMap((a) => {
    const ip = parseIPv4(a)
    return ip === undefined ? [] : [{ text: a, ip }]
  })
  let block: Block
  if (request.subnet === undefined) {
    if (request.gateway !== undefined) {
      throw new InvalidGatewayError(`gateway ${request.gateway} needs an explicit subnet; pass --subnet too`)
    }
    if ((request.reserved?.length ?? 0) > 0) {
      throw new InvalidAddressError('reserved addresses need an explicit subnet; pass --subnet too')
    }
    block = carve(
      networks,
      pool,
      avoid.map((a) => a.ip),
    )
  } else {
    block = parseBlock(request.subnet, 'subnet')
    const other = networks.find((n) => overlaps(n.block, block))
    if (other !== undefined) {
      throw new SubnetOverlapError(
        `subnet ${formatBlock(block)} overlaps network '${other.name}' (${formatBlock(other.block)})`,
      )
    }
    const node = avoid.find((a) => contains(block, a.ip))
    if (node !== undefined) {
      throw new SubnetOverlapError(
        `subnet ${formatBlock(block)} contains the node address ${node.text} (the underlay); pick a subnet apart from the nodes' network`,
      )
    }
  }
  const gateway = request.gateway === undefined ? block.first + 1 : checkGateway(request.gateway, block)
  const reserved = new Set((request.reserved ?? []).map((text) => checkReserved(text, block)))
  return { block, gateway, reserved }
}

/** Lowest block of `subnetSize` in the pools, in pool order, that overlaps no network and holds no node address. */
function carve(
  networks: readonly NetworkIpam[],
  { pools, subnetSize }: PoolConfig,
  avoid: readonly number[],
): Block {
  const size = blockSize(subnetSize)
  for (const pool of pools) {
    let first = pool.first
    while (first + size - 1 <= pool.last) {
      const candidate = blockAt(first, subnetSize)
      const hit = networks.find((n) => overlaps(n.block, candidate))
      if (hit === undefined && !avoid.some((ip) => contains(candidate, ip))) return candidate
      first = hit === undefined ? first + size : Math.ceil((hit.block.last + 1) / size) * size
    }
  }
  const where = pools.map(formatBlock).join(', ')
  throw new PoolExhaustedError(
    `no free /${subnetSize} left in the default address pools (${where}); remove a network or pass --subnet`,
  )
}

function checkGateway(text: string, block: Block): number {
  const ip = parseIPv4(text)
  const subnet = formatBlock(block)
  if (ip === undefined)
    throw new InvalidGatewayError(`gateway '${text}' is not an IPv4 address like 10.0.0.1`)
  if (!contains(block, ip)) throw new InvalidGatewayError(`gateway ${text} is outside subnet ${subnet}`)
  const hint = `use a host address such as ${formatIPv4(block.first + 1)}`
  if (ip === block.first) {
    throw new InvalidGatewayError(`gateway ${text} is the network address of subnet ${subnet}; ${hint}`)
  }
  if (ip === block.last) {
    throw new InvalidGatewayError(`gateway ${text} is the broadcast address of subnet ${subnet}; ${hint}`)
  }
  return ip
}

function checkReserved(text: string, block: Block): number {
  const ip = parseIPv4(text)
  const subnet = formatBlock(block)
  if (ip === undefined) throw new InvalidAddressError(`reserved address '${text}' is not an IPv4 address`)
  if (!contains(block, ip) || ip === block.first || ip === block.last) {
    throw new InvalidAddressError(`reserved address ${text} is not a host address of subnet ${subnet}`)
  }
  return ip
}
