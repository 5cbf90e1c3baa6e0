import { ConflictError, InvalidInputError } from '@swarmnet/interface'
import { describe, expect, it } from 'vitest'
import {
  createAllocator,
  InvalidSubnetError,
  NetworkExistsError,
  PoolExhaustedError,
  VniInUseError,
} from '../src/index.js'
import { catchErr } from './helpers.js'

describe('VNIs', () => {
  it('hands out the lowest free VNI from 4096 and reuses a released one', () => {
    const a = createAllocator()
    expect(['a', 'b', 'c'].map((id) => a.allocateNetwork({ id, name: id }).vni)).toEqual([4096, 4097, 4098])
    expect(a.releaseNetwork('b')).toBe(true)
    expect(a.releaseNetwork('b')).toBe(false)
    expect(a.allocateNetwork({ id: 'd', name: 'd' }).vni).toBe(4097)
    expect(a.allocateNetwork({ id: 'e', name: 'e' }).vni).toBe(4099)
  })

  it('accepts a pinned VNI once and skips it afterwards', () => {
    const a = createAllocator()
    expect(a.allocateNetwork({ id: 'p', name: 'pinned', vni: 4097 }).vni).toBe(4097)
    expect(a.allocateNetwork({ id: 'x', name: 'x' }).vni).toBe(4096)
    expect(a.allocateNetwork({ id: 'y', name: 'y' }).vni).toBe(4098)
    const err = catchErr(() => a.allocateNetwork({ id: 'z', name: 'z', vni: 4097 }))
    expect(err).toBeInstanceOf(VniInUseError)
    expect(err).toBeInstanceOf(ConflictError)
    expect(err.message).toBe("VNI 4097 is already used by network 'pinned'")
    expect(catchErr(() => a.allocateNetwork({ id: 'z', name: 'z', vni: 2 ** 24 })).code).toBe(
      'ERR_INVALID_ALLOCATION_REQUEST',
    )
  })

  it('refuses a second allocation for the same network id without changing state', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'n', name: 'front' })
    const before = a.snapshot()
    expect(() => a.allocateNetwork({ id: 'n', name: 'front' })).toThrow(NetworkExistsError)
    expect(a.snapshot()).toEqual(before)
  })
})

describe('pool carving', () => {
  it('carves 10.0.0.0/8 into /24s in order with gateway .1', () => {
    const a = createAllocator()
    const nets = ['ingress', 'a', 'b'].map((id) => a.allocateNetwork({ id, name: id }))
    expect(nets.map((n) => [n.subnet, n.gateway])).toEqual([
      ['10.0.0.0/24', '10.0.0.1'],
      ['10.0.1.0/24', '10.0.1.1'],
      ['10.0.2.0/24', '10.0.2.1'],
    ])
    a.releaseNetwork('a')
    expect(a.allocateNetwork({ id: 'c', name: 'c' }).subnet).toBe('10.0.1.0/24')
  })

  it('skips subnets taken by user networks, small or large', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'small', name: 'small', subnet: '10.0.0.8/29' })
    a.allocateNetwork({ id: 'big', name: 'big', subnet: '10.0.2.0/23' })
    expect(a.allocateNetwork({ id: 'n1', name: 'n1' }).subnet).toBe('10.0.1.0/24')
    expect(a.allocateNetwork({ id: 'n2', name: 'n2' }).subnet).toBe('10.0.4.0/24')
  })

  it('uses configured pools and subnet size, in order, and says when they run out', () => {
    const a = createAllocator({ defaultAddrPools: ['192.168.0.0/23', '172.16.0.0/24'], subnetSize: 24 })
    expect(['a', 'b', 'c'].map((id) => a.allocateNetwork({ id, name: id }).subnet)).toEqual([
      '192.168.0.0/24',
      '192.168.1.0/24',
      '172.16.0.0/24',
    ])
    const err = catchErr(() => a.allocateNetwork({ id: 'd', name: 'd' }))
    expect(err).toBeInstanceOf(PoolExhaustedError)
    expect(err.code).toBe('ERR_POOL_EXHAUSTED')
    expect(err.message).toBe(
      'no free /24 left in the default address pools (192.168.0.0/23, 172.16.0.0/24); remove a network or pass --subnet',
    )
    const small = createAllocator({ defaultAddrPools: ['10.10.0.0/16'], subnetSize: 26 })
    expect(small.allocateNetwork({ id: 'a', name: 'a' }).subnet).toBe('10.10.0.0/26')
    expect(small.allocateNetwork({ id: 'b', name: 'b' }).subnet).toBe('10.10.0.64/26')
  })

  it('rejects bad pool configuration', () => {
    expect(() => createAllocator({ defaultAddrPools: ['10.0.0.0/8'], subnetSize: 7 })).toThrow(
      InvalidInputError,
    )
    expect(() => createAllocator({ defaultAddrPools: ['10.0.0.0/16'], subnetSize: 12 })).toThrow(
      InvalidInputError,
    )
    expect(() => createAllocator({ defaultAddrPools: ['10.0.0.1/8'] })).toThrow(InvalidSubnetError)
    expect(() => createAllocator({ defaultAddrPools: [] })).toThrow(InvalidInputError)
  })
})

describe('user subnets', () => {
  it('rejects a /16 over an existing /24, and a /24 inside an existing /16', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'back', name: 'back', subnet: '10.1.5.0/24' })
    const wide = catchErr(() => a.allocateNetwork({ id: 'x', name: 'x', subnet: '10.1.0.0/16' }))
    expect(wide.code).toBe('ERR_SUBNET_OVERLAP')
    expect(wide).toBeInstanceOf(ConflictError)
    expect(wide.message).toBe("subnet 10.1.0.0/16 overlaps network 'back' (10.1.5.0/24)")

    a.allocateNetwork({ id: 'front', name: 'front', subnet: '10.0.0.0/16' })
    const narrow = catchErr(() => a.allocateNetwork({ id: 'y', name: 'y', subnet: '10.0.1.0/24' }))
    expect(narrow.message).toBe("subnet 10.0.1.0/24 overlaps network 'front' (10.0.0.0/16)")
    expect(catchErr(() => a.allocateNetwork({ id: 'z', name: 'z', subnet: '10.0.0.0/16' })).code).toBe(
      'ERR_SUBNET_OVERLAP',
    )
    // adjacent is fine
    expect(a.allocateNetwork({ id: 'ok', name: 'ok', subnet: '10.2.0.0/16' }).subnet).toBe('10.2.0.0/16')
  })

  it.each([
    ['10.0.0.0', "subnet '10.0.0.0' is not an IPv4 CIDR like 10.1.0.0/24"],
    ['10.0.0/24', "subnet '10.0.0/24' is not an IPv4 CIDR like 10.1.0.0/24"],
    ['10.0.0.256/24', "subnet '10.0.0.256/24' is not an IPv4 CIDR like 10.1.0.0/24"],
    ['0x0a.0.0.0/24', "subnet '0x0a.0.0.0/24' is not an IPv4 CIDR like 10.1.0.0/24"],
    ['10.0.0.0/24/1', "subnet '10.0.0.0/24/1' is not an IPv4 CIDR like 10.1.0.0/24"],
    ['10.0.0.0/x', "subnet '10.0.0.0/x' is not an IPv4 CIDR like 10.1.0.0/24"],
    ['10.0.0.0/7', 'subnet 10.0.0.0/7: prefix must be between /8 and /29'],
    ['10.0.0.0/30', 'subnet 10.0.0.0/30: prefix must be between /8 and /29'],
    ['10.0.1.5/24', 'subnet 10.0.1.5/24 has host bits set; did you mean 10.0.1.0/24?'],
    ['fd00::/64', 'subnet fd00::/64 is IPv6; only IPv4 subnets are supported'],
  ])('rejects subnet %s', (subnet, message) => {
    const err = catchErr(() => createAllocator().allocateNetwork({ id: 'n', name: 'n', subnet }))
    expect(err).toBeInstanceOf(InvalidSubnetError)
    expect(err).toBeInstanceOf(InvalidInputError)
    expect(err.code).toBe('ERR_INVALID_SUBNET')
    expect(err.message).toBe(message)
  })

  it('takes a gateway inside the subnet', () => {
    const n = createAllocator().allocateNetwork({
      id: 'n',
      name: 'n',
      subnet: '10.2.0.0/24',
      gateway: '10.2.0.254',
    })
    expect(n).toEqual({
      id: 'n',
      name: 'n',
      vni: 4096,
      subnet: '10.2.0.0/24',
      gateway: '10.2.0.254',
      reserved: [],
    })
  })

  it.each([
    ['10.1.0.1', undefined, 'gateway 10.1.0.1 is outside subnet 10.2.0.0/24'],
    [
      '10.2.0.0',
      undefined,
      'gateway 10.2.0.0 is the network address of subnet 10.2.0.0/24; use a host address such as 10.2.0.1',
    ],
    [
      '10.2.0.255',
      undefined,
      'gateway 10.2.0.255 is the broadcast address of subnet 10.2.0.0/24; use a host address such as 10.2.0.1',
    ],
    ['10.2.0', undefined, "gateway '10.2.0' is not an IPv4 address like 10.0.0.1"],
    ['10.0.0.1', 'pool', 'gateway 10.0.0.1 needs an explicit subnet; pass --subnet too'],
  ])('rejects gateway %s', (gateway, pool, message) => {
    const subnet = pool === undefined ? '10.2.0.0/24' : undefined
    const err = catchErr(() => createAllocator().allocateNetwork({ id: 'n', name: 'n', subnet, gateway }))
    expect(err.code).toBe('ERR_INVALID_GATEWAY')
    expect(err).toBeInstanceOf(InvalidInputError)
    expect(err.message).toBe(message)
  })

  it('validates reserved addresses', () => {
    const a = createAllocator()
    const bad = catchErr(() =>
      a.allocateNetwork({ id: 'n', name: 'n', subnet: '10.2.0.0/24', reserved: ['10.3.0.1'] }),
    )
    expect(bad.code).toBe('ERR_INVALID_ADDRESS')
    expect(bad.message).toBe('reserved address 10.3.0.1 is not a host address of subnet 10.2.0.0/24')
    expect(catchErr(() => a.allocateNetwork({ id: 'n', name: 'n', reserved: ['10.0.0.5'] })).code).toBe(
      'ERR_INVALID_ADDRESS',
    )
    expect(a.snapshot().networks).toEqual([])
  })
})

describe('subnets apart from special ranges and the nodes', () => {
  it('refuses loopback, link-local, multicast, reserved and "this network" subnets', () => {
    const a = createAllocator()
    for (const subnet of ['127.0.0.0/24', '169.254.1.0/24', '224.1.0.0/16', '240.0.0.0/24', '0.0.0.0/24']) {
      const err = catchErr(() => a.allocateNetwork({ id: 'n', name: 'n', subnet }))
      expect(err.code, subnet).toBe('ERR_INVALID_SUBNET')
      expect(err.message).toMatch(/overlaps the .* range/)
    }
    expect(catchErr(() => createAllocator({ defaultAddrPools: ['127.0.0.0/8'] })).code).toBe(
      'ERR_INVALID_SUBNET',
    )
    expect(a.snapshot().networks).toEqual([])
  })

  it('refuses a subnet holding a node address, and carves pool subnets around them', () => {
    const a = createAllocator()
    const err = catchErr(() =>
      a.allocateNetwork({ id: 'n', name: 'n', subnet: '192.0.2.0/24', avoid: ['192.0.2.11'] }),
    )
    expect(err.code).toBe('ERR_SUBNET_OVERLAP')
    expect(err.message).toContain('192.0.2.11')
    expect(a.allocateNetwork({ id: 'p', name: 'p', avoid: ['10.0.0.7', '10.0.1.9'] }).subnet).toBe(
      '10.0.2.0/24',
    )
  })
})
