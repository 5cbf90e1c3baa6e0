/** Validation of the cluster's default address pool at `init`. */
import { createAllocator } from '@swarmnet/allocator'
import { InvalidInputError } from '@swarmnet/interface'
import ipaddr from 'ipaddr.js'

/**
 * The default address pool must be a valid IPv4 block that yields subnets of the mask length
 * and, when asked for, does not hold the manager's own address (its overlays would shadow the
 * underlay).
 */
export function checkAddressPool(pool: string, maskLen: number, advertiseAddr: string, given: boolean): void {
  // the default pool on a host inside it (a 10.x cloud network) is worked around instead:
  // subnets are carved apart from every node's address
  if (given && poolHolds(pool, advertiseAddr))
    throw new InvalidInputError(
      `--default-addr-pool ${pool} contains this node's address ${advertiseAddr}: its overlay subnets would shadow the underlay; pick a pool apart from the nodes' network`,
    )
  try {
    createAllocator({ defaultAddrPools: [pool], subnetSize: maskLen }).allocateNetwork({
      id: 'probe',
      name: 'probe',
      avoid: [advertiseAddr],
    })
  } catch (err) {
    throw new InvalidInputError(
      `invalid --default-addr-pool ${pool} with --default-addr-pool-mask-length ${maskLen}: ${(err as Error).message}`,
    )
  }
}

function poolHolds(pool: string, addr: string): boolean {
  try {
    return ipaddr.parse(addr).match(ipaddr.parseCIDR(pool))
  } catch {
    return false
  }
}
