import { InvalidInputError } from '@swarmnet/interface'
import type { NodeRole } from './index.js'

/** URI scheme prefixes of the subjectAltName entries that bind a certificate to a node. */
export const PEER_URI_PREFIX = 'swarmnet://peer/'
export const NODE_URI_PREFIX = 'swarmnet://node/'

export const ROLES: readonly NodeRole[] = ['manager', 'worker']

// Node and cluster ids end up in subject fields and URIs: keep them to a plain charset.
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
// libp2p peer ids are base58btc multihashes or base32 CIDs: alphanumerics only.
const PEER_ID = /^[A-Za-z0-9]{1,128}$/

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value)
}

export function isPeerId(value: unknown): value is string {
  return typeof value === 'string' && PEER_ID.test(value)
}

export function isRole(value: unknown): value is NodeRole {
  return value === 'manager' || value === 'worker'
}

export function assertId(what: string, value: unknown): asserts value is string {
  if (!isId(value)) throw new InvalidInputError(`${what} must match ${ID}`)
}

export function assertPeerId(value: unknown): asserts value is string {
  if (!isPeerId(value)) throw new InvalidInputError(`peer id must match ${PEER_ID}`)
}

export function assertRole(value: unknown): asserts value is NodeRole {
  if (!isRole(value)) throw new InvalidInputError(`role must be one of ${ROLES.join(', ')}`)
}

/** The subjectAltName URIs of a node certificate or CSR. */
export function bindingUris(nodeId: string, peerId: string): string[] {
  return [`${PEER_URI_PREFIX}${peerId}`, `${NODE_URI_PREFIX}${nodeId}`]
}

/** Values of the URIs with `prefix` among `uris`. */
export function urisWithPrefix(uris: readonly string[], prefix: string): string[] {
  return uris.filter((u) => u.startsWith(prefix)).map((u) => u.slice(prefix.length))
}
