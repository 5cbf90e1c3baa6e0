import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { InvalidInputError } from '@swarmnet/interface'
import { InvalidTokenError } from './errors.js'
import type { ParsedJoinToken } from './index.js'
import { parseCaCertificate } from './verify.js'

export const TOKEN_PREFIX = 'SWNTKN'
export const TOKEN_VERSION = 1
export const DIGEST_CHARS = 50
export const SECRET_CHARS = 25

const SECRET_BYTES = 16
const BASE36 = /^[0-9a-z]+$/

/** sha256 of the CA certificate's DER, base36, zero-padded to 50 chars. The PEM must hold exactly one certificate. */
export function caDigest(caCertPem: string): string {
  const count = caCertPem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0
  if (count !== 1) throw new InvalidInputError('CA PEM must contain exactly one certificate')
  const der = parseCaCertificate(caCertPem).raw
  return toBase36(createHash('sha256').update(der).digest(), DIGEST_CHARS)
}

/** 128 random bits, base36, zero-padded to 25 chars. */
export function generateTokenSecret(): string {
  return toBase36(randomBytes(SECRET_BYTES), SECRET_CHARS)
}

export function createJoinToken(caCertPem: string, secret: string = generateTokenSecret()): string {
  checkPart('secret', secret, SECRET_CHARS, SECRET_BYTES * 8)
  return `${TOKEN_PREFIX}-${TOKEN_VERSION}-${caDigest(caCertPem)}-${secret}`
}

/** Parse `SWNTKN-1-<digest>-<secret>`; exact: no whitespace, lowercase base36, fixed lengths. */
export function parseJoinToken(token: string): ParsedJoinToken {
  if (typeof token !== 'string' || token.length === 0) throw new InvalidTokenError('join token is empty')
  const parts = token.split('-')
  if (parts[0] !== TOKEN_PREFIX) throw new InvalidTokenError(`join token must start with ${TOKEN_PREFIX}-`)
  if (parts[1] !== String(TOKEN_VERSION)) throw new InvalidTokenError('unsupported join token version')
  if (parts.length !== 4) throw new InvalidTokenError('join token must have 4 dash-separated parts')
  const [, , caDigest = '', secret = ''] = parts
  checkPart('CA digest', caDigest, DIGEST_CHARS, 256)
  checkPart('secret', secret, SECRET_CHARS, SECRET_BYTES * 8)
  return { version: TOKEN_VERSION, caDigest, secret }
}

/** Whether a CA PEM fetched from an unauthenticated manager is the one the token pins. Never throws for the PEM. */
export function caMatchesToken(caCertPem: string, token: string | ParsedJoinToken): boolean {
  const expected = typeof token === 'string' ? parseJoinToken(token).caDigest : token.caDigest
  try {
    return caDigest(caCertPem) === expected
  } catch {
    return false
  }
}

/** Constant-time equality of two secrets (or whole tokens), via fixed-length sha256 digests so neither content nor length leaks. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest()
  const hb = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(ha, hb)
}

function toBase36(bytes: Uint8Array, width: number): string {
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
    .toString(36)
    .padStart(width, '0')
}

function checkPart(what: string, value: string, chars: number, bits: number): void {
  if (value.length !== chars) throw new InvalidTokenError(`join token ${what} must be ${chars} characters`)
  if (!BASE36.test(value)) throw new InvalidTokenError(`join token ${what} must be lowercase base36`)
  if (parseBase36(value) >= 1n << BigInt(bits))
    throw new InvalidTokenError(`join token ${what} is out of range`)
}

function parseBase36(value: string): bigint {
  let n = 0n
  for (const ch of value) n = n * 36n + BigInt(Number.parseInt(ch, 36))
  return n
}
