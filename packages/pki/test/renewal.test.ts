import { describe, expect, it } from 'vitest'
import { createPki } from '../src/index.js'
import { CLUSTER, DAY, fakeClock, PEER_A, T0 } from './fixtures.js'

const validity = { notBefore: T0, notAfter: T0 + 100 * DAY }
const at = (fraction: number) => T0 + 100 * DAY * fraction

describe('renewalTime', () => {
  it('maps the random source onto 50–80 % of the lifetime', () => {
    const draw = (r: number) => createPki({ clock: fakeClock(), random: () => r }).renewalTime(validity)
    expect(draw(0)).toBe(at(0.5))
    expect(draw(0.5)).toBe(at(0.65))
    expect(draw(0.999999999)).toBeLessThanOrEqual(at(0.8))
    expect(draw(0.999999999)).toBeGreaterThan(at(0.79))
    // a misbehaving source still lands in the window
    expect(draw(-3)).toBe(at(0.5))
    expect(draw(7)).toBe(at(0.8))
    expect(draw(Number.NaN)).toBe(at(0.5))
  })

  it('with the default source, always lands in the window of a real 90-day certificate', () => {
    const pki = createPki({ clock: fakeClock() })
    const ca = pki.createCa({ clusterId: CLUSTER })
    const { csrPem } = pki.createNodeCsr({ nodeId: 'node1', peerId: PEER_A })
    const cert = pki.issueNodeCertificate(ca, { csrPem, role: 'worker', clusterId: CLUSTER })
    const life = cert.notAfter - cert.notBefore
    const draws = Array.from({ length: 1000 }, () => pki.renewalTime(cert))
    for (const t of draws) {
      expect(t).toBeGreaterThanOrEqual(cert.notBefore + 0.5 * life)
      expect(t).toBeLessThanOrEqual(cert.notBefore + 0.8 * life)
    }
    expect(new Set(draws).size).toBeGreaterThan(990)
  })

  it('rejects an empty or inverted validity', () => {
    const pki = createPki({ clock: fakeClock() })
    expect(() => pki.renewalTime({ notBefore: T0, notAfter: T0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
    )
  })
})
