import { describe, expect, it } from 'vitest'
import {
  BRIDGE,
  DEFAULT_GATEWAY_BRIDGE,
  endpointInterface,
  endpointKey,
  GATEWAY_LEG,
  gatewayVeth,
  IFNAME_MAX,
  ingressVeth,
  overlayNamespace,
  overlayVeth,
  sandboxNamespace,
  VXLAN,
  vniOfOverlayNamespace,
  vxlanCreateName,
} from '../src/names.js'

describe('kernel names', () => {
  const longId = 'x8f3k2m9q7w1e5r4t6y8u0i2o4p6a8s0'
  it.each([
    ['overlay namespace', overlayNamespace(0xffffff)],
    ['ingress leg (host side)', ingressVeth(0xffffff)],
    ['vxlan create name', vxlanCreateName(0xffffff)],
    ['sandbox namespace', sandboxNamespace(longId)],
    ['overlay veth', overlayVeth(longId)],
    ['gateway veth', gatewayVeth(longId)],
    ['endpoint interface', endpointInterface(999)],
    ['fixed names', [BRIDGE, VXLAN, GATEWAY_LEG, DEFAULT_GATEWAY_BRIDGE].join('').slice(0, 15)],
  ])('%s fits IFNAMSIZ: %s', (_what, name) => {
    expect(name.length).toBeLessThanOrEqual(IFNAME_MAX)
    expect(name).toMatch(/^[a-z0-9_-]+$/)
  })

  it('keeps short ids readable and hashes long ones into 9 characters', () => {
    expect(endpointKey('task1')).toBe('task1')
    expect(endpointKey(longId)).toMatch(/^x8f[0-9a-f]{6}$/)
    expect(endpointKey('Task/1')).toMatch(/^tas[0-9a-f]{6}$/)
    expect(endpointKey(longId)).not.toBe(endpointKey(`${longId}x`))
    expect(sandboxNamespace('task1')).toBe('sn-ep-task1')
  })

  it('maps overlay namespaces back to their VNI, and nothing else', () => {
    expect(vniOfOverlayNamespace(overlayNamespace(4097))).toBe(4097)
    expect(vniOfOverlayNamespace('sn-ov-04097')).toBeUndefined()
    expect(vniOfOverlayNamespace('sn-ep-4097')).toBeUndefined()
    expect(vxlanCreateName(4097)).toBe('sn-vx-001001')
  })
})
