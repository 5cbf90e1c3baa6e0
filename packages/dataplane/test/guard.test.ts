import { describe, expect, it } from 'vitest'
import { desiredGuardRules, guardScript, planGuard, planGuardRemoval } from '../src/guard.js'
import { parseGuard } from '../src/observe-xfrm.js'
import { describePlan } from '../src/plan.js'
import { read } from './fixtures.js'

const plain = { dataPathPort: 4789, members: undefined, encryptedVnis: [] }
const full = { dataPathPort: 4789, members: ['192.0.2.2', '192.0.2.1'], encryptedVnis: [4099, 4097] }

describe('vxlan guard planner', () => {
  it('loads one table: admission of members, cleartext of encrypted VNIs dropped, marking, fail closed', () => {
    const script = guardScript(full)
    expect(script).toContain('set members { type ipv4_addr; elements = { 192.0.2.1, 192.0.2.2 } }')
    expect(script).toContain('set encrypted-vnis { typeof @th,96,24; elements = { 4097, 4099 } }')
    expect(script).toMatch(/udp dport 4789 ip saddr != @members counter name "nonmember" drop/)
    expect(script).toMatch(
      /udp dport 4789 @th,96,24 @encrypted-vnis meta ipsec missing counter name "cleartext" drop/,
    )
    expect(script).toMatch(/type route hook output priority mangle;[\s\S]*meta mark set 0xd0c4e3/)
    expect(script).toMatch(
      /meta mark 0xd0c4e3 udp dport 4789 rt ipsec missing counter name "unencrypted" drop/,
    )
    // without members known, no admission rule
    expect(guardScript(plain)).not.toContain('@members counter')
  })

  it('reads the table back from nft -j (real output) and then plans nothing', () => {
    const observed = parseGuard(JSON.parse(read('guard-nft-encrypted.json')))
    expect(observed?.sets.get('members')).toEqual(['192.0.2.1', '192.0.2.2'])
    expect(observed?.sets.get('encrypted-vnis')).toEqual(['4097', '4099'])
    expect(observed?.rules).toEqual(desiredGuardRules(full))
    expect(observed?.counters.get('nonmember')).toBe(0)
    expect(planGuard(full, observed).steps).toEqual([])
    expect(planGuard(plain, parseGuard(JSON.parse(read('guard-nft.json')))).steps).toEqual([])
  })

  it('changes set elements in place (counters survive), replaces the table when the rules change', () => {
    const observed = parseGuard(JSON.parse(read('guard-nft-encrypted.json')))
    const moved = planGuard({ ...full, members: ['192.0.2.1', '192.0.2.3'] }, observed)
    expect(moved.steps).toEqual([
      {
        tool: 'nft',
        script:
          'flush set ip swarmnet-vxlan members\nadd element ip swarmnet-vxlan members { 192.0.2.1, 192.0.2.3 }',
      },
    ])
    const lastEncrypted = planGuard({ ...full, encryptedVnis: [] }, observed)
    expect(lastEncrypted.steps).toEqual([
      { tool: 'nft', script: 'flush set ip swarmnet-vxlan encrypted-vnis' },
    ])
    const port = planGuard({ ...full, dataPathPort: 4790 }, observed)
    expect(describePlan(port)).toEqual(['nft -f - <<22 lines>>'])
    expect(planGuardRemoval(observed).steps).toEqual([
      { tool: 'nft', script: 'delete table ip swarmnet-vxlan' },
    ])
    expect(planGuardRemoval(undefined).steps).toEqual([])
  })
})
