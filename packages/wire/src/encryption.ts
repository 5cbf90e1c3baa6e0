/**
 * The IPsec keyring as the manager hands it to a node, on that node's mTLS dispatcher session
 * only (never gossip, never logs): at most 3 AES-128-GCM keys with their tags, and which one
 * transmits. `version` changes with every rotation; a node sends the version it holds and
 * gets the keyring back only when it differs (since 0.4).
 */
import { z } from 'zod'

/** An opaque keyring version. */
export const keyringVersion = z.string().max(64)

export const keyring = z.object({
  version: keyringVersion,
  /** Rotations since the cluster began (`network inspect` shows it). */
  generation: z.number().int().nonnegative(),
  /** Tag of the primary (transmit) key: the second newest. */
  primary: z.number().int().min(0).max(0xffffffff),
  keys: z
    .array(
      z.object({
        tag: z.number().int().min(0).max(0xffffffff),
        /** 16 bytes as 32 lower-case hex digits. */
        key: z.string().regex(/^[0-9a-f]{32}$/),
      }),
    )
    .min(1)
    .max(3),
})
export type Keyring = z.infer<typeof keyring>
