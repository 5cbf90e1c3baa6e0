import { randomBytes } from 'node:crypto'

/** A random 25-character base36 id (128 bits), the shape of swarmkit's identity.NewID. */
export function newId(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`)
    .toString(36)
    .padStart(25, '0')
    .slice(-25)
}
