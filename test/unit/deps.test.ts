import { describe, expect, it } from 'vitest'

// The chosen dependencies (DESIGN.md) install and load under the project's Node.
describe('dependencies', () => {
  it('runs on Node >= 22 (libp2p needs Promise.withResolvers)', () => {
    const major = Number(process.versions.node.split('.')[0])
    expect(major).toBeGreaterThanOrEqual(22)
    expect(typeof Promise.withResolvers).toBe('function')
  })

  it.each([
    ['libp2p', 'createLibp2p'],
    ['@chainsafe/libp2p-gossipsub', 'gossipsub'],
    ['@libp2p/tcp', 'tcp'],
    ['@chainsafe/libp2p-noise', 'noise'],
    ['@chainsafe/libp2p-yamux', 'yamux'],
    ['@libp2p/identify', 'identify'],
    ['level', 'Level'],
    ['execa', 'execa'],
    ['commander', 'Command'],
    ['zod', 'z'],
  ])('%s exports %s', async (mod, name) => {
    const m = (await import(mod)) as Record<string, unknown>
    expect(m[name]).toBeDefined()
  })

  it('node-forge loads', async () => {
    const forge = (await import('node-forge')).default
    expect(typeof forge.pki.createCertificate).toBe('function')
  })
})
