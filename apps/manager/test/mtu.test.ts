import { describe, expect, it } from 'vitest'
import { defaultNetworkMtu, MAX_NETWORK_MTU, mtuWarnings, networkMtu } from '../src/mtu.js'

describe('network MTU', () => {
  it('defaults to the smallest underlay MTU the nodes report, minus the vxlan overhead', () => {
    expect(defaultNetworkMtu([1500, 1400, 9000])).toBe(1350)
    expect(defaultNetworkMtu([9000, 9001])).toBe(8950)
    expect(defaultNetworkMtu([1460])).toBe(1410)
  })

  it('assumes 1500 when no node reports one (older agents), and never goes below 576', () => {
    expect(defaultNetworkMtu([])).toBe(1450)
    expect(defaultNetworkMtu([600])).toBe(576)
  })

  it('takes --opt mtu=N from 576 to 8950', () => {
    expect(networkMtu('1400', [1500])).toBe(1400)
    expect(networkMtu('576', [])).toBe(576)
    expect(networkMtu(String(MAX_NETWORK_MTU), [])).toBe(8950)
    expect(networkMtu(undefined, [1500, 1400])).toBe(1350)
  })

  it('allows more than 8950 only up to what the largest reported underlay carries (AWS 9001)', () => {
    expect(networkMtu(undefined, [9001])).toBe(8951)
    expect(networkMtu('8951', [1500, 9001])).toBe(8951)
    expect(() => networkMtu('8952', [9001])).toThrow(/must be 576-8951/)
  })

  it.each([
    ['abc', /expected a number/],
    ['', /expected a number/],
    ['1400.5', /expected a number/],
    ['-1', /expected a number/],
    ['575', /must be 576-8950/],
    ['8951', /must be 576-8950/],
    ['65535', /must be 576-8950/],
  ])('refuses mtu=%j', (v, msg) => {
    expect(() => networkMtu(v, [1500])).toThrow(msg)
    try {
      networkMtu(v, [1500])
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ERR_INVALID_INPUT')
    }
  })

  it("warns about each network whose frames a node's underlay cannot carry", () => {
    const nets = [
      { name: 'small', mtu: 1350 },
      { name: 'big', mtu: 1450 },
    ]
    expect(mtuWarnings(1500, nets)).toEqual([])
    expect(mtuWarnings(1400, nets)).toEqual([
      'underlay MTU 1400 cannot carry network big (MTU 1450 needs 1500): larger packets are dropped',
    ])
    expect(mtuWarnings(undefined, nets)).toEqual([])
  })
})

describe('encrypted network MTU', () => {
  it('takes ESP off too and rounds down to a multiple of 4 (Docker: 1424 on 1500)', () => {
    expect(defaultNetworkMtu([1500], true)).toBe(1424)
    expect(defaultNetworkMtu([1460, 9000], true)).toBe(1384)
    expect(defaultNetworkMtu([1451], true)).toBe(1372)
    expect(networkMtu(undefined, [1500], true)).toBe(1424)
    expect(networkMtu('1400', [1500], true)).toBe(1400)
  })
})
