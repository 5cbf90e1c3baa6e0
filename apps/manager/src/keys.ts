/**
 * The key manager (swarmkit's keymanager, its `networking:ipsec` subsystem): the cluster's
 * keyring for encrypted overlays. 16-byte random AES-128-GCM keys, a keyring of 3, each key
 * tagged with a Lamport time (the clock seeded at random in 0–65535, +1 per key), so the SPIs
 * derived from the tags differ from one cluster to the next.
 *
 * Keys sorted by tag: the newest is installed receive-only, the second newest is the primary
 * (transmit) key. A rotation appends a new key and drops the oldest: the former newest becomes
 * primary, so every node could already decrypt with it before anyone sends with it, and the
 * dropped key has not been sent with since the previous rotation (reference §6.1, §6.4).
 * Rotation runs every `rotationMs` (12 h by default, `init --encryption-key-rotation`) and on
 * `network rotate-key`; the due time counts from the last rotation as stored, so a restart
 * neither skips nor repeats one. The keyring lives in the store and leaves the manager only
 * in dispatcher answers (mTLS); no log line carries a key, only tags and the generation.
 */
import { randomBytes, randomInt } from 'node:crypto'
import type { AbortOptions, Clock, Logger, Periodic } from '@swarmnet/interface'
import { serialQueue, startPeriodic } from '@swarmnet/interface'
import type { Store } from '@swarmnet/store'
import type { Keyring } from '@swarmnet/wire'

/** Keys kept: 3 inbound SAs per peer in the steady state. */
export const KEYRING_SIZE = 3
/** Docker's default rotation period. */
export const DEFAULT_KEY_ROTATION_MS = 12 * 3_600_000
/** How often a due rotation is looked for (at most). */
export const ROTATION_CHECK_MS = 60_000

/** The stored keyring. Never logged. */
export interface KeyringRecord {
  /** Rotations so far (0: the first keyring). */
  generation: number
  /** The Lamport clock: the tag of the newest key. */
  clock: number
  /** When the last rotation (or the creation) happened, ms since the epoch. */
  rotatedAt: number
  /** Sorted by tag, oldest first; 32 hex digits each. */
  keys: Array<{ tag: number; key: string }>
}

export interface KeyManagerComponents {
  store: Store
  clock: Clock
  logger: Logger
  /** Key material. @default crypto.randomBytes */
  random?: (bytes: number) => Buffer
}

export interface KeyManagerInit {
  /** @default {@link DEFAULT_KEY_ROTATION_MS} */
  rotationMs?: number
}

/** The wire form: the second newest transmits (the only one while there is one). */
export function keyringOf(r: KeyringRecord): Keyring {
  const primary = r.keys.length >= 2 ? r.keys[r.keys.length - 2] : r.keys[0]
  return {
    version: `${r.generation}:${r.keys.map((k) => k.tag).join('-')}`,
    generation: r.generation,
    primary: primary?.tag ?? 0,
    keys: r.keys.map((k) => ({ tag: k.tag, key: k.key })),
  }
}

/** Pure: the keyring after one rotation. */
export function rotated(r: KeyringRecord, key: string, now: number): KeyringRecord {
  const tag = (r.clock + 1) >>> 0
  return {
    generation: r.generation + 1,
    clock: tag,
    rotatedAt: now,
    keys: [...r.keys, { tag, key }].slice(-KEYRING_SIZE),
  }
}

export class KeyManager {
  private readonly c: KeyManagerComponents
  private readonly rotationMs: number
  private readonly table
  private readonly serial = serialQueue()
  private readonly random: (bytes: number) => Buffer
  private current: KeyringRecord | undefined
  private loading: Promise<KeyringRecord> | undefined
  private readonly listeners = new Set<() => void>()
  private readonly loop = new AbortController()
  private periodic: Periodic | undefined

  constructor(components: KeyManagerComponents, init: KeyManagerInit = {}) {
    this.c = components
    this.rotationMs = init.rotationMs ?? DEFAULT_KEY_ROTATION_MS
    this.table = components.store.table<KeyringRecord>('keys')
    this.random = components.random ?? randomBytes
  }

  /** Loads (or creates) the keyring and rotates it whenever it is due. */
  async start(options?: AbortOptions): Promise<void> {
    await this.keyring(options)
    this.periodic = startPeriodic({
      clock: this.c.clock,
      periodMs: Math.min(this.rotationMs, ROTATION_CHECK_MS),
      signal: this.loop.signal,
      tick: async (signal) => {
        const r = await this.load({ signal })
        if (this.c.clock.now() - r.rotatedAt >= this.rotationMs) await this.rotate({ signal })
      },
      onError: (err) => this.c.logger.warn('key rotation failed', { err }),
    })
  }

  async stop(): Promise<void> {
    this.loop.abort()
    await this.periodic?.done
  }

  /** Called after every rotation (the dispatcher wakes the nodes' watches). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The current keyring version, once loaded (the dispatcher compares the nodes' with it). */
  get version(): string | undefined {
    return this.current === undefined ? undefined : keyringOf(this.current).version
  }

  /** The generation in use (`network inspect`), once loaded. */
  get generation(): number | undefined {
    return this.current?.generation
  }

  /** The keyring as the nodes get it. */
  async keyring(options?: AbortOptions): Promise<Keyring> {
    return keyringOf(await this.load(options))
  }

  /** Rotates now: a new key, receive-only; the previous newest transmits; the oldest goes. */
  rotate(options?: AbortOptions): Promise<Keyring> {
    return this.serial(async () => {
      const next = rotated(await this.load(options), this.newKey(), this.c.clock.now())
      await this.table.put('ipsec', next, options)
      this.current = next
      const ring = keyringOf(next)
      this.c.logger.info('encryption keys rotated', {
        generation: next.generation,
        tags: ring.keys.map((k) => k.tag),
        primary: ring.primary,
      })
      for (const l of this.listeners) l()
      return ring
    })
  }

  private newKey(): string {
    return this.random(16).toString('hex')
  }

  /** The keyring, read (or created) once; concurrent callers share the one read. */
  private load(options?: AbortOptions): Promise<KeyringRecord> {
    if (this.current !== undefined) return Promise.resolve(this.current)
    if (this.loading === undefined) {
      const loading = this.read(options)
      this.loading = loading
      loading.then(
        (r) => {
          this.current ??= r
        },
        () => {
          if (this.loading === loading) this.loading = undefined
        },
      )
    }
    return this.loading.then((r) => this.current ?? r)
  }

  private async read(options?: AbortOptions): Promise<KeyringRecord> {
    const stored = await this.table.get('ipsec', options)
    if (stored !== undefined) return stored
    const seed = randomInt(0, 65_536)
    const keys = Array.from({ length: KEYRING_SIZE }, (_, i) => ({ tag: seed + i, key: this.newKey() }))
    const r = { generation: 0, clock: seed + KEYRING_SIZE - 1, rotatedAt: this.c.clock.now(), keys }
    await this.table.put('ipsec', r, options)
    this.c.logger.info('encryption keyring created', { tags: keys.map((k) => k.tag) })
    return r
  }
}
