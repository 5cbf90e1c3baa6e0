import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { InvalidInputError } from '@swarmnet/interface'

export const MIN_RSA_BITS = 2048

/** An RSA key pair as PEM: PKCS#8 private key, SPKI public key. Generated natively (forge is too slow). */
export function generateRsaKeyPair(bits: number): { privateKeyPem: string; publicKeyPem: string } {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS) {
    throw new InvalidInputError(`RSA key size must be an integer >= ${MIN_RSA_BITS}`)
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return { privateKeyPem: privateKey, publicKeyPem: publicKey }
}

/** A random positive 128-bit serial as minimal hex (top bit clear, second bit set: no sign or padding byte). */
export function randomSerialHex(): string {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40
  return bytes.toString('hex')
}
