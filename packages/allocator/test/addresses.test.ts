import { describe, expect, it } from 'vitest'
import { AddressExhaustedError, createAllocator, macForIPv4, NetworkNotFoundError } from '../src/index.js'
import { catchErr } from './helpers.js'

describe('endpoint addresses', () => {
  it('hands out addresses serially after the gateway, with prefix and MAC', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'n', name: 'front' })
    expect(a.allocateEndpoint('n', 't1')).toEqual({
      networkId: 'n',
      ip: '10.0.0.2',
      address: '10.0.0.2/24',
      mac: '02:42:0a:00:00:02',
    })
    expect(['t2', 't3'].map((t) => a.allocateEndpoint('n', t).ip)).toEqual(['10.0.0.3', '10.0.0.4'])
    expect(a.allocateEndpoint('n', 't1').ip).toBe('10.0.0.2')
  })

  it('hands out the next free address after the last one, wrapping, and skips reserved ones and a non-.1 gateway', () => {
    const a = createAllocator()
    a.allocateNetwork({
      id: 'n',
      name: 'n',
      subnet: '10.9.0.0/24',
      gateway: '10.9.0.3',
      reserved: ['10.9.0.1'],
    })
    expect(['a', 'b', 'c'].map((t) => a.allocateEndpoint('n', t).ip)).toEqual([
      '10.9.0.2',
      '10.9.0.4',
      '10.9.0.5',
    ])
    expect(a.releaseEndpoint('n', 'b')).toBe(true)
    expect(a.releaseEndpoint('n', 'b')).toBe(false)
    // a released address is not reused while fresh ones remain
    expect(a.allocateEndpoint('n', 'd').ip).toBe('10.9.0.6')
    expect(a.allocateEndpoint('n', 'e').ip).toBe('10.9.0.7')
    // at the end of the subnet it wraps and takes the first free one after the start
    for (let i = 8; i <= 254; i++) a.allocateEndpoint('n', `f${i}`)
    expect(a.allocateEndpoint('n', 'g').ip).toBe('10.9.0.4')
    // it continues after the wrapped one, not from the start
    expect(a.releaseEndpoint('n', 'a')).toBe(true)
    expect(a.releaseEndpoint('n', 'f100')).toBe(true)
    expect(a.allocateEndpoint('n', 'h').ip).toBe('10.9.0.100')
    expect(a.allocateEndpoint('n', 'i').ip).toBe('10.9.0.2')
  })

  it('resumes after the last address from a snapshot', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'n', name: 'n', subnet: '10.9.0.0/24' })
    for (const t of ['a', 'b', 'c']) a.allocateEndpoint('n', t)
    a.releaseEndpoint('n', 'a')
    const b = createAllocator({ snapshot: a.snapshot() })
    expect(b.allocateEndpoint('n', 'd').ip).toBe('10.9.0.5')
  })

  it('takes a requested address and refuses unusable or taken ones', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'n', name: 'front' })
    expect(a.allocateEndpoint('n', 'x', { ip: '10.0.0.50' }).ip).toBe('10.0.0.50')
    const taken = catchErr(() => a.allocateEndpoint('n', 'y', { ip: '10.0.0.50' }))
    expect(taken.code).toBe('ERR_ADDRESS_IN_USE')
    expect(taken.message).toBe("address 10.0.0.50 on network 'front' is in use by endpoint 'x'")
    expect(catchErr(() => a.allocateEndpoint('n', 'x', { ip: '10.0.0.51' })).code).toBe('ERR_ADDRESS_IN_USE')
    for (const ip of ['10.0.0.0', '10.0.0.1', '10.0.0.255', '10.0.1.5', 'nope']) {
      expect(catchErr(() => a.allocateEndpoint('n', 'y', { ip })).code).toBe('ERR_INVALID_ADDRESS')
    }
  })

  it('fails with a named error when the subnet is full, and recovers after a release', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'n', name: 'tiny', subnet: '10.5.0.0/29' })
    const ips = ['a', 'b', 'c', 'd', 'e'].map((t) => a.allocateEndpoint('n', t).ip)
    expect(ips).toEqual(['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6'])
    const err = catchErr(() => a.allocateEndpoint('n', 'f'))
    expect(err).toBeInstanceOf(AddressExhaustedError)
    expect(err.code).toBe('ERR_ADDRESS_EXHAUSTED')
    expect(err.message).toBe(
      "no free address left in network 'tiny' (10.5.0.0/29); release endpoints or use a larger subnet",
    )
    a.releaseEndpoint('n', 'c')
    expect(a.allocateEndpoint('n', 'f').ip).toBe('10.5.0.4')
  })

  it('needs an allocated network', () => {
    const a = createAllocator()
    expect(() => a.allocateEndpoint('missing', 't')).toThrow(NetworkNotFoundError)
    expect(a.releaseEndpoint('missing', 't')).toBe(false)
    a.allocateNetwork({ id: 'n', name: 'n' })
    a.allocateEndpoint('n', 't')
    a.releaseNetwork('n')
    a.allocateNetwork({ id: 'n', name: 'n' })
    expect(a.allocateEndpoint('n', 'u').ip).toBe('10.0.0.2')
  })
})

describe('MACs', () => {
  it('derives 02:42 + the IPv4 bytes', () => {
    expect(macForIPv4('10.0.1.5')).toBe('02:42:0a:00:01:05')
    expect(macForIPv4('192.168.255.254')).toBe('02:42:c0:a8:ff:fe')
    expect(catchErr(() => macForIPv4('10.0.1')).code).toBe('ERR_INVALID_ALLOCATION_REQUEST')
  })
})

describe('service VIPs', () => {
  it('gives one VIP per service per network from the same address space as endpoints', () => {
    const a = createAllocator()
    a.allocateNetwork({ id: 'n1', name: 'front' })
    a.allocateNetwork({ id: 'n2', name: 'back' })
    expect(a.allocateVip('n1', 'web')).toEqual({ networkId: 'n1', ip: '10.0.0.2', address: '10.0.0.2/24' })
    expect(a.allocateVip('n1', 'web').ip).toBe('10.0.0.2')
    expect(a.allocateVip('n2', 'web').ip).toBe('10.0.1.2')
    expect(a.allocateEndpoint('n1', 'web.1').ip).toBe('10.0.0.3')
    // ids are namespaced: an endpoint may share an id with a service
    expect(a.allocateEndpoint('n1', 'web').ip).toBe('10.0.0.4')
    const err = catchErr(() => a.allocateEndpoint('n1', 'x', { ip: '10.0.0.2' }))
    expect(err.message).toBe("address 10.0.0.2 on network 'front' is in use by vip 'web'")
    expect(a.releaseVip('n1', 'web')).toBe(true)
    expect(a.allocateEndpoint('n1', 'y').ip).toBe('10.0.0.5')
  })
})
