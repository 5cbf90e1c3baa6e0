import { createHash, X509Certificate } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ClusterCa, createPki, InvalidTokenError } from '../src/index.js'
import { CLUSTER, fakeClock } from './fixtures.js'

const pki = createPki({ clock: fakeClock() })
let ca: ClusterCa
let otherCa: ClusterCa

beforeAll(() => {
  ca = pki.createCa({ clusterId: CLUSTER })
  otherCa = pki.createCa({ clusterId: CLUSTER })
})

const TOKEN = /^SWNTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/

describe('join tokens', () => {
  it('have the exact format: prefix, version, 50-char digest, 25-char secret', () => {
    const token = pki.createJoinToken(ca.certPem)
    expect(token).toMatch(TOKEN)
    expect(token).toHaveLength(85)
    const parsed = pki.parseJoinToken(token)
    expect(parsed.version).toBe(1)
    expect(`SWNTKN-1-${parsed.caDigest}-${parsed.secret}`).toBe(token)
  })

  it('digest is sha256 of the CA DER in base36, zero-padded to 50', () => {
    const der = new X509Certificate(ca.certPem).raw
    const expected = BigInt(`0x${createHash('sha256').update(der).digest('hex')}`)
      .toString(36)
      .padStart(50, '0')
    expect(pki.caDigest(ca.certPem)).toBe(expected)
    expect(pki.parseJoinToken(pki.createJoinToken(ca.certPem)).caDigest).toBe(expected)
  })

  it('secrets are 128 random bits, base36, zero-padded to 25; a given secret is used as is', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => pki.generateTokenSecret()))
    expect(secrets.size).toBe(50)
    for (const s of secrets) expect(s).toMatch(/^[0-9a-z]{25}$/)
    const small = `${'0'.repeat(24)}1`
    expect(pki.createJoinToken(ca.certPem, small).endsWith(`-${small}`)).toBe(true)
    const max = (2n ** 128n - 1n).toString(36)
    expect(max).toHaveLength(25)
    expect(pki.parseJoinToken(pki.createJoinToken(ca.certPem, max)).secret).toBe(max)
  })

  it('two tokens for the same CA share the digest and differ in secret', () => {
    const a = pki.parseJoinToken(pki.createJoinToken(ca.certPem))
    const b = pki.parseJoinToken(pki.createJoinToken(ca.certPem))
    expect(a.caDigest).toBe(b.caDigest)
    expect(a.secret).not.toBe(b.secret)
  })

  it('parse rejects malformed tokens with InvalidTokenError', () => {
    const good = pki.createJoinToken(ca.certPem)
    const { caDigest, secret } = pki.parseJoinToken(good)
    const bad = [
      '',
      'garbage',
      '----',
      `SWMTKN-1-${caDigest}-${secret}`, // Docker's prefix
      `swntkn-1-${caDigest}-${secret}`,
      `SWNTKN-2-${caDigest}-${secret}`,
      `SWNTKN-2-1-${caDigest}-${secret}`,
      `SWNTKN-1-${caDigest}-${secret}-x`,
      `SWNTKN-1-${caDigest}`,
      `SWNTKN-1-${caDigest.slice(1)}-${secret}`,
      `SWNTKN-1-0${caDigest}-${secret}`,
      `SWNTKN-1-${caDigest}-${secret.slice(1)}`,
      `SWNTKN-1-${caDigest}-0${secret}`,
      `SWNTKN-1-${caDigest.toUpperCase()}-${secret}`,
      `SWNTKN-1-${caDigest}-${secret.slice(0, 24)}!`,
      `SWNTKN-1-${'z'.repeat(50)}-${secret}`, // > 2^256
      `SWNTKN-1-${caDigest}-${'z'.repeat(25)}`, // > 2^128
      ` ${good}`,
      `${good}\n`,
    ]
    for (const token of bad) {
      expect(() => pki.parseJoinToken(token), JSON.stringify(token)).toThrow(
        expect.objectContaining({ name: 'InvalidTokenError', code: 'ERR_INVALID_TOKEN' }),
      )
    }
    try {
      pki.parseJoinToken(`SWNTKN-1-${caDigest}-${secret.slice(1)}`)
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidTokenError)
      expect((err as Error).message).not.toContain('\n')
      expect((err as Error).message).not.toContain(secret.slice(1))
    }
  })

  it('createJoinToken rejects a malformed secret', () => {
    expect(() => pki.createJoinToken(ca.certPem, 'short')).toThrow(InvalidTokenError)
  })
})

describe('CA pinning', () => {
  it('matches the CA the token was made for, whatever its PEM line endings', () => {
    const token = pki.createJoinToken(ca.certPem)
    expect(pki.caMatchesToken(ca.certPem, token)).toBe(true)
    expect(pki.caMatchesToken(ca.certPem.replace(/\n/g, '\r\n'), pki.parseJoinToken(token))).toBe(true)
  })

  it('detects another CA, a bundle with an extra root, and garbage', () => {
    const token = pki.createJoinToken(ca.certPem)
    expect(pki.caMatchesToken(otherCa.certPem, token)).toBe(false)
    expect(pki.caMatchesToken(`${ca.certPem}${otherCa.certPem}`, token)).toBe(false)
    expect(pki.caMatchesToken(`${otherCa.certPem}${ca.certPem}`, token)).toBe(false)
    expect(pki.caMatchesToken('garbage', token)).toBe(false)
    expect(() => pki.caMatchesToken(ca.certPem, 'garbage')).toThrow(InvalidTokenError)
  })
})

describe('secretsEqual', () => {
  it('compares by value, including different lengths', () => {
    const s = pki.generateTokenSecret()
    expect(pki.secretsEqual(s, `${s}`)).toBe(true)
    expect(pki.secretsEqual(s, pki.generateTokenSecret())).toBe(false)
    expect(pki.secretsEqual(s, s.slice(1))).toBe(false)
    expect(pki.secretsEqual('', '')).toBe(true)
  })
})
