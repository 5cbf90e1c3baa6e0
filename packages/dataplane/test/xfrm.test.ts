import { describe, expect, it } from 'vitest'
import { nodeConfig } from '../src/dataplane.js'
import { toBatches } from '../src/executor.js'
import { planNode } from '../src/node.js'
import { type ObservedXfrm, parseXfrmPolicies, parseXfrmStates } from '../src/observe-xfrm.js'
import { describePlan, describeStep } from '../src/plan.js'
import { normalizeDesired } from '../src/spec.js'
import { deriveSpi, encryptedVteps, planXfrm, spiHex } from '../src/xfrm.js'
import { emptyNode, read } from './fixtures.js'

const cfg = nodeConfig({ advertiseAddress: '192.0.2.1' })
const key = (n: number): string => n.toString(16).padStart(2, '0').repeat(16)
const ring = (...tags: number[]) => ({
  keys: tags.map((tag) => ({ tag, key: key(tag) })),
  // the second newest transmits
  primary: tags[tags.length - 2] ?? (tags[0] as number),
})
const spi = (src: string, dst: string, tag: number): string => spiHex(deriveSpi(src, dst, tag))

/** What the kernel holds after `planXfrm` installed `tags` towards `vteps` (primary second newest). */
function installed(vteps: readonly string[], tags: readonly number[]): ObservedXfrm {
  const primary = tags[tags.length - 2] ?? (tags[0] as number)
  return {
    states: vteps.flatMap((r) => [
      ...tags.map((t) => ({ src: r, dst: '192.0.2.1', spi: deriveSpi(r, '192.0.2.1', t) })),
      { src: '192.0.2.1', dst: r, spi: deriveSpi('192.0.2.1', r, primary) },
    ]),
    policies: vteps.map((r) => ({
      src: '192.0.2.1',
      dst: r,
      dport: 4789,
      spi: deriveSpi('192.0.2.1', r, primary),
    })),
  }
}

describe('SPI derivation (§6.2)', () => {
  it('is FNV-1a 32 over src (IPv4-mapped) || tag (BE) || dst, computed independently', () => {
    // values from a separate Python implementation of the same definition
    expect(deriveSpi('192.0.2.1', '192.0.2.2', 1)).toBe(0xdb9034c7)
    expect(deriveSpi('192.0.2.2', '192.0.2.1', 1)).toBe(0x059471d7)
    expect(deriveSpi('192.0.2.1', '192.0.2.2', 0xdeadbeef)).toBe(0x66521a0e)
  })

  it('differs by direction and by key, and never falls in the reserved range', () => {
    const seen = new Set<number>()
    for (let tag = 0; tag < 2000; tag++) {
      const fwd = deriveSpi('198.51.100.7', '198.51.100.9', tag)
      const rev = deriveSpi('198.51.100.9', '198.51.100.7', tag)
      expect(fwd).not.toBe(rev)
      expect(fwd).toBeGreaterThanOrEqual(0x100)
      seen.add(fwd)
    }
    expect(seen.size).toBeGreaterThan(1990)
  })
})

describe('xfrm planner', () => {
  it('installs, per remote VTEP, an inbound SA per key, one outbound SA with the primary and the policy', () => {
    const plan = planXfrm(['192.0.2.2', '192.0.2.3'], ring(7, 8, 9), cfg, { states: [], policies: [] })
    expect(plan.prune).toEqual([])
    const lines = plan.install.map(describeStep)
    const r2 = lines.filter((l) => / (src|dst) 192\.0\.2\.2 /.test(l))
    expect(r2).toEqual([
      ...[7, 8, 9].map(
        (t) =>
          `ip xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp spi ${spi('192.0.2.2', '192.0.2.1', t)} reqid 13681891 mode transport flag esn replay-window 128 aead rfc4106(gcm(aes)) <secret> 64`,
      ),
      `ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi ${spi('192.0.2.1', '192.0.2.2', 8)} reqid 13681891 mode transport flag esn replay-window 128 aead rfc4106(gcm(aes)) <secret> 64`,
      `ip xfrm policy add dir out src 192.0.2.1/32 dst 192.0.2.2/32 proto udp dport 4789 mark 0x00d0c4e3 mask 0xffffffff tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi ${spi('192.0.2.1', '192.0.2.2', 8)} reqid 13681891 mode transport`,
    ])
    // all of it in one process, and no key in any description
    expect(toBatches(plan.install).map((b) => b.argv.join(' '))).toEqual(['ip -batch -'])
    expect(lines.join('\n')).not.toContain(key(8))
    // the key material is the key then the SPI as salt
    const out = plan.install.find(
      (s) => s.tool === 'ip' && s.args.includes('192.0.2.1') && s.args[4] === '192.0.2.1',
    )
    expect(out?.tool === 'ip' && out.args).toContain(
      `0x${key(8)}${spi('192.0.2.1', '192.0.2.2', 8).slice(2)}`,
    )
  })

  it('is empty in the steady state', () => {
    const plan = planXfrm(['192.0.2.2'], ring(7, 8, 9), cfg, installed(['192.0.2.2'], [7, 8, 9]))
    expect([...plan.install, ...plan.prune]).toEqual([])
  })

  it('rotates in the order that loses nothing: new inbound, new outbound, policy updated in place, old outbound, old inbound', () => {
    const plan = planXfrm(['192.0.2.2'], ring(8, 9, 10), cfg, installed(['192.0.2.2'], [7, 8, 9]))
    expect(describePlan({ steps: [...plan.install, ...plan.prune], warnings: [] })).toEqual([
      expect.stringContaining(
        `state add src 192.0.2.2 dst 192.0.2.1 proto esp spi ${spi('192.0.2.2', '192.0.2.1', 10)} `,
      ),
      expect.stringContaining(
        `state add src 192.0.2.1 dst 192.0.2.2 proto esp spi ${spi('192.0.2.1', '192.0.2.2', 9)} `,
      ),
      expect.stringMatching(
        new RegExp(`^ip xfrm policy update dir out .* spi ${spi('192.0.2.1', '192.0.2.2', 9)} `),
      ),
      `ip xfrm state del src 192.0.2.1 dst 192.0.2.2 proto esp spi ${spi('192.0.2.1', '192.0.2.2', 8)}`,
      `ip xfrm state del src 192.0.2.2 dst 192.0.2.1 proto esp spi ${spi('192.0.2.2', '192.0.2.1', 7)}`,
    ])
  })

  it('removes the SAs and policy of a VTEP that no longer carries an encrypted network, policy first', () => {
    const plan = planXfrm(['192.0.2.2'], ring(7, 8, 9), cfg, installed(['192.0.2.2', '192.0.2.3'], [7, 8, 9]))
    expect(plan.install).toEqual([])
    const lines = plan.prune.map(describeStep)
    expect(lines[0]).toBe(
      'ip xfrm policy del dir out src 192.0.2.1/32 dst 192.0.2.3/32 proto udp dport 4789 mark 0x00d0c4e3 mask 0xffffffff',
    )
    expect(lines.slice(1)).toHaveLength(4)
    expect(lines.slice(1).every((l) => l.startsWith('ip xfrm state del') && l.includes('192.0.2.3'))).toBe(
      true,
    )
    expect(lines[1]).toContain('src 192.0.2.1 dst 192.0.2.3')
  })

  it('wants nothing without keys (the guard then drops marked packets) and follows the data-path port', () => {
    const none = planXfrm(['192.0.2.2'], undefined, cfg, installed(['192.0.2.2'], [7, 8, 9]))
    expect(none.install).toEqual([])
    expect(none.prune).toHaveLength(5)
    const port = nodeConfig({ advertiseAddress: '192.0.2.1', dataPathPort: 4790 })
    const moved = planXfrm(['192.0.2.2'], ring(7, 8, 9), port, installed(['192.0.2.2'], [7, 8, 9]))
    expect(moved.install.map(describeStep)).toEqual([
      expect.stringMatching(/^ip xfrm policy update .* dport 4790 /),
    ])
  })

  it('carries only the VTEPs of encrypted networks, never its own', () => {
    const d = normalizeDesired({
      networks: [
        {
          id: 'e',
          vni: 4100,
          subnet: '10.0.2.0/24',
          gateway: '10.0.2.1',
          encrypted: true,
          peers: [
            { ip: '10.0.2.2', mac: '02:42:0a:00:02:02', vtep: '192.0.2.1' },
            { ip: '10.0.2.3', mac: '02:42:0a:00:02:03', vtep: '192.0.2.3' },
          ],
        },
        {
          id: 'p',
          vni: 4101,
          subnet: '10.0.3.0/24',
          gateway: '10.0.3.1',
          peers: [{ ip: '10.0.3.3', mac: '02:42:0a:00:03:03', vtep: '192.0.2.4' }],
        },
      ],
      endpoints: [
        {
          id: 't',
          attachments: [
            { networkId: 'e', ip: '10.0.2.2' },
            { networkId: 'p', ip: '10.0.3.2' },
          ],
        },
      ],
      encryption: ring(1, 2, 3),
      members: ['192.0.2.4', '192.0.2.1', '192.0.2.3'],
    })
    expect(encryptedVteps(d.networks, cfg)).toEqual(['192.0.2.3'])
    const lines = describePlan(planNode(d, emptyNode, cfg))
    // SAs before the guard table that starts marking, the encrypted overlay after it
    const guard = lines.indexOf('nft -f - <<22 lines>>')
    expect(guard).toBeGreaterThan(lines.findIndex((l) => l.startsWith('ip xfrm policy add')))
    expect(guard).toBeLessThan(lines.indexOf('ip netns add sn-ov-4100'))
  })

  it('refuses a bad keyring', () => {
    const base = { networks: [], endpoints: [] }
    expect(() => normalizeDesired({ ...base, encryption: { keys: [], primary: 1 } })).toThrow(/1 to 3 keys/)
    expect(() =>
      normalizeDesired({ ...base, encryption: { keys: [{ tag: 1, key: 'ab' }], primary: 1 } }),
    ).toThrow(/not 16 bytes/)
    expect(() =>
      normalizeDesired({ ...base, encryption: { keys: [{ tag: 1, key: key(1) }], primary: 2 } }),
    ).toThrow(/primary/)
  })
})

describe('xfrm observation (iproute2 6.1 text, captured in a VM with esp4)', () => {
  it('keeps only our ESP states and marked outbound policies', () => {
    expect(parseXfrmStates(read('xfrm-state.txt'))).toEqual([
      { src: '192.0.2.12', dst: '192.0.2.11', spi: 0x200 },
      { src: '192.0.2.11', dst: '192.0.2.12', spi: 0x100 },
    ])
    expect(parseXfrmPolicies(read('xfrm-policy.txt'))).toEqual([
      { src: '192.0.2.11', dst: '192.0.2.12', dport: 4789, spi: 0x100 },
    ])
  })
})
