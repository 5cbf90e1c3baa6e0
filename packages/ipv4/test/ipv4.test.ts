import { describe, expect, it } from 'vitest'
import {
  blockOf,
  contains,
  formatBlock,
  formatIpv4,
  isIpv4,
  isIpv6,
  isUsableSubnet,
  macOf,
  overlaps,
  parseCidr,
  parseHostPort,
  parseIpv4,
  subnetConflict,
} from '../src/index.js'

const block = (text: string) => {
  const c = parseCidr(text)
  if (c === undefined) throw new Error(`test: bad CIDR ${text}`)
  return blockOf(c.ip, c.prefix)
}

describe('addresses', () => {
  it.each(['0.0.0.0', '10.0.0.1', '192.0.2.255', '255.255.255.255'])('accepts %s', (a) => {
    expect(isIpv4(a)).toBe(true)
    expect(formatIpv4(parseIpv4(a) ?? -1)).toBe(a)
  })

  it.each([
    '',
    '10.1',
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    '0x0a.0.0.1',
    '10.0.0.1 ',
    ' 10.0.0.1',
    '10.0.0.1/24',
    '::1',
    '1.2.3.4.5',
    '-1.0.0.0',
  ])('refuses %j', (a) => {
    expect(isIpv4(a)).toBe(false)
    expect(parseIpv4(a)).toBeUndefined()
  })

  it('converts to and from unsigned integers at the edges', () => {
    expect(parseIpv4('255.255.255.255')).toBe(2 ** 32 - 1)
    expect(parseIpv4('10.0.1.5')).toBe(0x0a000105)
    expect(formatIpv4(0xc0000201)).toBe('192.0.2.1')
  })

  it('tells IPv6 apart', () => {
    expect(isIpv6('fd00::1')).toBe(true)
    expect(isIpv6('10.0.0.1')).toBe(false)
  })

  it('derives the 02:42 MAC', () => {
    expect(macOf(parseIpv4('10.0.1.5') ?? 0)).toBe('02:42:0a:00:01:05')
    expect(macOf(parseIpv4('192.168.255.254') ?? 0)).toBe('02:42:c0:a8:ff:fe')
  })
})

describe('CIDR blocks', () => {
  it('parses with host bits, and blockOf clears them', () => {
    expect(parseCidr('10.0.1.5/24')).toEqual({ ip: 0x0a000105, prefix: 24 })
    expect(formatBlock(block('10.0.1.5/24'))).toBe('10.0.1.0/24')
    expect(block('0.0.0.0/0')).toEqual({ first: 0, last: 2 ** 32 - 1, prefix: 0 })
    expect(block('192.0.2.7/32')).toEqual({ first: 0xc0000207, last: 0xc0000207, prefix: 32 })
  })

  it.each([
    '10.0.0.0',
    '10.0.0/24',
    '10.0.0.0/33',
    '10.0.0.0/024',
    '10.0.0.0/',
    '10.0.0.0/24/1',
    '10.0.0.0/x',
  ])('refuses %j', (c) => expect(parseCidr(c)).toBeUndefined())

  it('contains addresses and blocks', () => {
    const net = block('10.0.1.0/24')
    expect(contains(net, parseIpv4('10.0.1.0') ?? -1)).toBe(true)
    expect(contains(net, parseIpv4('10.0.1.255') ?? -1)).toBe(true)
    expect(contains(net, parseIpv4('10.0.2.0') ?? -1)).toBe(false)
    expect(contains(net, block('10.0.1.128/25'))).toBe(true)
    expect(contains(net, block('10.0.0.0/23'))).toBe(false)
  })

  it('overlaps both ways, and not when adjacent', () => {
    expect(overlaps(block('10.0.0.0/8'), block('10.9.0.0/16'))).toBe(true)
    expect(overlaps(block('10.9.0.0/16'), block('10.0.0.0/8'))).toBe(true)
    expect(overlaps(block('10.0.0.0/24'), block('10.0.1.0/24'))).toBe(false)
  })
})

describe('host:port', () => {
  it('splits and defaults the port', () => {
    expect(parseHostPort('192.0.2.11', 2377)).toEqual({ host: '192.0.2.11', port: 2377 })
    expect(parseHostPort('192.0.2.11:4000', 2377)).toEqual({ host: '192.0.2.11', port: 4000 })
  })
  it.each(['192.0.2.11:0', '192.0.2.11:65536', '192.0.2.11:x', 'host:1', '192.0.2.11:1:2', ':2377'])(
    'refuses %j',
    (t) => expect(parseHostPort(t, 2377)).toBeUndefined(),
  )
})

describe('overlay subnet usability', () => {
  it.each([
    ['127.0.0.0/8', 'overlaps loopback 127.0.0.0/8'],
    ['127.1.0.0/16', 'overlaps loopback 127.0.0.0/8'],
    ['169.254.1.0/24', 'overlaps link-local 169.254.0.0/16'],
    ['224.0.0.0/24', 'overlaps multicast 224.0.0.0/4'],
    ['239.255.0.0/16', 'overlaps multicast 224.0.0.0/4'],
    ['240.0.0.0/24', 'overlaps reserved 240.0.0.0/4'],
    ['0.0.0.0/24', 'overlaps "this network" 0.0.0.0/8'],
    ['96.0.0.0/3', 'overlaps loopback 127.0.0.0/8'],
  ])('%s: %s', (cidr, reason) => {
    expect(subnetConflict(block(cidr))).toBe(reason)
    expect(isUsableSubnet(block(cidr))).toBe(false)
  })

  it('refuses a subnet overlapping the underlay, accepts a private one beside it', () => {
    const underlay = [block('192.0.2.0/24')]
    expect(subnetConflict(block('192.0.0.0/16'), { underlay })).toBe(
      'overlaps the underlay network 192.0.2.0/24',
    )
    expect(subnetConflict(block('10.0.0.0/24'), { underlay })).toBeUndefined()
    expect(isUsableSubnet(block('172.18.0.0/16'), { underlay })).toBe(true)
  })
})
