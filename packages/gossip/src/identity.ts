import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidInputError } from '@swarmnet/interface'

/** A node's gossip identity: its libp2p peer id and the protobuf-marshalled private key behind it. */
export interface Identity {
  /** The libp2p peer id (`12D3KooW…`), bound into the node certificate. */
  peerId: string
  /** The protobuf-marshalled private key: persist it (mode 0600) and pass it back to restore the identity. */
  privateKey: Uint8Array
}

/** Generates a fresh Ed25519 identity. */
export async function generateIdentity(): Promise<Identity> {
  const key = await generateKeyPair('Ed25519')
  return { peerId: peerIdFromPrivateKey(asPrivateKey(key)).toString(), privateKey: privateKeyToProtobuf(key) }
}

/** Restores an identity from persisted key bytes; throws {@link InvalidInputError} if they are not a key. */
export function identityFromPrivateKey(privateKey: Uint8Array): Identity {
  return { peerId: peerIdFromPrivateKey(unmarshalPrivateKey(privateKey)).toString(), privateKey }
}

/** @internal the libp2p key object; never leaves the package. */
export function unmarshalPrivateKey(bytes: Uint8Array): PrivateKey {
  try {
    return asPrivateKey(privateKeyFromProtobuf(bytes))
  } catch (err) {
    throw new InvalidInputError('gossip private key is not a protobuf-marshalled libp2p key', { cause: err })
  }
}

/**
 * The installed @libp2p/crypto 5.1.x declares its keys against @libp2p/interface 3 while libp2p 2.x
 * uses interface 2; the key objects are the same at runtime (only a uint8arraylist type differs),
 * so the types are bridged here, once.
 */
function asPrivateKey(key: object): PrivateKey {
  return key as PrivateKey
}
