import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Logger } from '@swarmnet/interface'
import { ManualClock, settle } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Dispatcher } from '../src/dispatcher.js'
import { KeyManager, keyringOf, rotated } from '../src/keys.js'
import type { TaskIndex } from '../src/task-index.js'
import { dispatcherFor } from './fixtures.js'

const HOUR = 3_600_000

/** Every line a logger was given, with its fields, as text. */
function recordingLogger(lines: string[]): Logger {
  const log = (msg: string, fields?: unknown) => lines.push(`${msg} ${JSON.stringify(fields ?? {})}`)
  const l: Logger = { ...silentLogger, debug: log, info: log, warn: log, error: log, child: () => l }
  return l
}

describe('key manager', () => {
  let dir: string
  let store: Store
  const clock = new ManualClock()
  const lines: string[] = []
  let keys: KeyManager
  let n = 0
  const random = (bytes: number) => Buffer.alloc(bytes, ++n)

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-keys-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    keys = new KeyManager({ store, clock, logger: recordingLogger(lines), random }, { rotationMs: 12 * HOUR })
  })
  afterEach(async () => {
    await keys.stop()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('starts with 3 keys of 16 bytes, consecutive tags, the second newest transmitting', async () => {
    const ring = await keys.keyring()
    expect(ring.keys).toHaveLength(3)
    expect(ring.keys.every((k) => /^[0-9a-f]{32}$/.test(k.key))).toBe(true)
    const [a, b, c] = ring.keys.map((k) => k.tag) as [number, number, number]
    expect([b - a, c - b]).toEqual([1, 1])
    expect(a).toBeLessThan(65_536)
    expect(ring.primary).toBe(b)
    expect(ring.generation).toBe(0)
  })

  it('rotates: a new key receive-only, the former newest transmits, the oldest goes', async () => {
    const before = await keys.keyring()
    const after = await keys.rotate()
    expect(after.generation).toBe(1)
    expect(after.keys.map((k) => k.tag)).toEqual([
      ...before.keys.slice(1).map((k) => k.tag),
      (before.keys[2]?.tag ?? 0) + 1,
    ])
    expect(after.primary).toBe(before.keys[2]?.tag)
    expect(after.version).not.toBe(before.version)
    // the key material is kept, the new one is new
    expect(after.keys.slice(0, 2)).toEqual(before.keys.slice(1))
    expect(after.keys[2]?.key).not.toBe(before.keys[2]?.key)
  })

  it('persists the keyring: a restarted manager hands out the same keys', async () => {
    await keys.rotate()
    const ring = await keys.keyring()
    const again = new KeyManager({ store, clock, logger: silentLogger })
    expect(await again.keyring()).toEqual(ring)
  })

  it('rotates on its own when the period is up, counted from the stored rotation time', async () => {
    const changes: number[] = []
    keys.onChange(() => changes.push(clock.now()))
    await keys.start()
    await settle()
    await clock.advance(11 * HOUR)
    await settle()
    expect(changes).toEqual([])
    await clock.advance(HOUR)
    // the rotation writes the store (real I/O) before it tells anyone
    await vi.waitFor(() => expect(changes).toHaveLength(1))
    expect(keys.generation).toBe(1)
  })

  it('never logs key material', async () => {
    const ring = await keys.keyring()
    const next = await keys.rotate()
    const text = lines.join('\n')
    for (const k of [...ring.keys, ...next.keys]) expect(text).not.toContain(k.key)
    expect(text).toContain('encryption keys rotated')
  })

  it('keyringOf/rotated are pure', () => {
    const r = {
      generation: 4,
      clock: 9,
      rotatedAt: 0,
      keys: [7, 8, 9].map((tag) => ({ tag, key: 'a'.repeat(32) })),
    }
    expect(keyringOf(r)).toMatchObject({ version: '4:7-8-9', primary: 8 })
    expect(rotated(r, 'b'.repeat(32), 5).keys.map((k) => k.tag)).toEqual([8, 9, 10])
  })
})

describe('dispatcher: the keyring rides the node session', () => {
  let dir: string
  let store: Store
  let index: TaskIndex
  let dispatcher: Dispatcher
  let keys: KeyManager
  const clock = new ManualClock()

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-keys-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    keys = new KeyManager({ store, clock, logger: silentLogger })
    await keys.keyring()
    ;({ dispatcher, index } = dispatcherFor(store, clock, keys))
  })
  afterEach(async () => {
    index.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('hands the keyring to a node that does not hold it, and only then', async () => {
    const first = await dispatcher.sync('n1', { reports: [], held: [] })
    expect(first.keys?.keys).toHaveLength(3)
    const again = await dispatcher.sync('n1', {
      reports: [],
      since: first.revision,
      keys: first.keys?.version,
    })
    expect(again.keys).toBeUndefined()
  })

  it('answers a pending watch when the keys rotate, and the next sync brings them', async () => {
    const first = await dispatcher.sync('n1', { reports: [], held: [] })
    let answer: boolean | undefined
    void dispatcher.watch('n1', first.revision, 25_000, undefined, first.keys?.version).then((c) => {
      answer = c.changed
    })
    await settle()
    expect(answer).toBeUndefined()
    await keys.rotate()
    await settle()
    expect(answer).toBe(true)
    const next = await dispatcher.sync('n1', {
      reports: [],
      since: first.revision,
      keys: first.keys?.version,
    })
    expect(next.keys?.generation).toBe(1)
  })
})
