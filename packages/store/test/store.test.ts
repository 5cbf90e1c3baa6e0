import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '@swarmnet/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type Change,
  CorruptRecordError,
  createStore,
  InvalidIdError,
  InvalidRecordError,
  InvalidTableNameError,
  type Schema,
  type Store,
  StoreNotOpenError,
  TableSchemaConflictError,
} from '../src/index.js'

interface Node {
  hostname: string
  role: 'manager' | 'worker'
}

const nodeSchema: Schema<Node> = {
  parse(value) {
    const v = value as Partial<Node> | null
    if (typeof v?.hostname !== 'string' || (v.role !== 'manager' && v.role !== 'worker')) {
      throw new Error('expected { hostname, role }')
    }
    return { hostname: v.hostname, role: v.role }
  },
}

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = []
  const noop = (): void => {}
  const logger = {
    component: 'test',
    errors,
    debug: noop,
    info: noop,
    warn: noop,
    error: (msg: string) => errors.push(msg),
    child: () => logger,
  }
  return logger
}

let dir: string
let store: Store
let logger: ReturnType<typeof recordingLogger>

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmnet-store-'))
  logger = recordingLogger()
  store = createStore({ logger }, { path: join(dir, 'state') })
  await store.open()
})

afterEach(async () => {
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

describe('tables', () => {
  it('gets, puts, overwrites and deletes records', async () => {
    const nodes = store.table('nodes', nodeSchema)
    expect(await nodes.get('n1')).toBeUndefined()
    await nodes.put('n1', { hostname: 'a', role: 'manager' })
    expect(await nodes.get('n1')).toEqual({ hostname: 'a', role: 'manager' })
    await nodes.put('n1', { hostname: 'a', role: 'worker' })
    expect(await nodes.get('n1')).toEqual({ hostname: 'a', role: 'worker' })
    await nodes.del('n1')
    expect(await nodes.get('n1')).toBeUndefined()
    await nodes.del('n1')
  })

  it('lists a table in id order, without other tables or prefix-named tables', async () => {
    const a = store.table<number>('net')
    const b = store.table<number>('net-x')
    const c = store.table<number>('netx')
    await a.put('b', 2)
    await a.put('a', 1)
    await a.put('a!b', 3)
    await b.put('a', 10)
    await c.put('z', 20)
    expect(await a.list()).toEqual([
      { id: 'a', value: 1 },
      { id: 'a!b', value: 3 },
      { id: 'b', value: 2 },
    ])
    expect(await b.list()).toEqual([{ id: 'a', value: 10 }])
    expect(await store.table('empty').list()).toEqual([])
  })

  it('stores JSON: a copy, not the object', async () => {
    const t = store.table<{ list: number[]; at?: Date | string }>('json')
    const value = { list: [1, 2], at: new Date(0) }
    await t.put('x', value)
    value.list.push(3)
    expect(await t.get('x')).toEqual({ list: [1, 2], at: '1970-01-01T00:00:00.000Z' })
  })

  it('validates table names, ids and values', async () => {
    for (const name of ['', 'Nodes', '1nodes', 'a!b', 'a b', 'x'.repeat(64)]) {
      expect(() => store.table(name)).toThrow(InvalidTableNameError)
    }
    expect(store.table('a-b_c9').name).toBe('a-b_c9')
    const t = store.table<unknown>('t')
    await expect(t.put('', 1)).rejects.toThrow(InvalidIdError)
    await expect(t.get('x'.repeat(1025))).rejects.toThrow(InvalidIdError)
    await expect(t.put('u', undefined)).rejects.toThrow(InvalidRecordError)
    await expect(t.put('f', () => 1)).rejects.toThrow(InvalidRecordError)
    const nodes = store.table('nodes', nodeSchema)
    const err = await nodes.put('n1', { hostname: 'a' } as Node).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidRecordError)
    expect((err as InvalidRecordError).code).toBe('ERR_INVALID_RECORD')
    expect((err as Error).message).toBe(
      "value for nodes/n1 does not match the table's schema: expected { hostname, role }",
    )
  })

  it('returns the same table for a name and refuses a second schema', () => {
    const nodes = store.table('nodes', nodeSchema)
    expect(store.table('nodes')).toBe(nodes)
    expect(store.table('nodes', nodeSchema)).toBe(nodes)
    expect(() => store.table('nodes', { parse: (v) => v })).toThrow(TableSchemaConflictError)
  })

  it('reports records on disk that no longer pass the schema', async () => {
    await store.table<unknown>('legacy').put('n1', { hostname: 'a', role: 'admin' })
    const other = createStore({ logger }, { path: join(dir, 'state') })
    await store.close()
    await other.open()
    try {
      const err = await other
        .table('legacy', nodeSchema)
        .get('n1')
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CorruptRecordError)
      expect((err as Error).message).toBe(
        "record legacy/n1 does not match the table's schema: expected { hostname, role }",
      )
    } finally {
      await other.close()
    }
  })
})

describe('batch', () => {
  it('writes across tables atomically', async () => {
    const nodes = store.table('nodes', nodeSchema)
    const nets = store.table<{ vni: number }>('networks')
    await nets.put('old', { vni: 4096 })
    await store.batch([
      nodes.putOp('n1', { hostname: 'a', role: 'manager' }),
      nets.putOp('front', { vni: 4097 }),
      nets.delOp('old'),
    ])
    expect(await nodes.list()).toEqual([{ id: 'n1', value: { hostname: 'a', role: 'manager' } }])
    expect(await nets.list()).toEqual([{ id: 'front', value: { vni: 4097 } }])
  })

  it('writes nothing when any op is invalid', async () => {
    const nodes = store.table('nodes', nodeSchema)
    const nets = store.table<{ vni: number }>('networks')
    const seen: Change[][] = []
    store.watch((c) => seen.push([...c]))
    await expect(
      store.batch([
        nets.putOp('front', { vni: 1 }),
        nodes.putOp('n1', { hostname: 'a', role: 'boss' } as never),
      ]),
    ).rejects.toThrow(InvalidRecordError)
    await expect(
      store.batch([nets.putOp('front', { vni: 1 }), { type: 'del', table: 'Bad!', id: 'x' }]),
    ).rejects.toThrow(InvalidTableNameError)
    expect(await nets.list()).toEqual([])
    expect(seen).toEqual([])
  })

  it('honours abort signals', async () => {
    const t = store.table<number>('t')
    const signal = AbortSignal.abort(new Error('stop'))
    await expect(t.put('a', 1, { signal })).rejects.toThrow('stop')
    await expect(t.list({ signal })).rejects.toThrow('stop')
    await expect(store.batch([t.putOp('a', 1)], { signal })).rejects.toThrow('stop')
    expect(await t.get('a')).toBeUndefined()
  })
})

describe('watch', () => {
  it('reports each committed write once, as stored, and stops after unsubscribe', async () => {
    const nodes = store.table('nodes', nodeSchema)
    const nets = store.table<{ vni: number }>('networks')
    const all: (readonly Change[])[] = []
    const onlyNets: (readonly Change<{ vni: number }>[])[] = []
    const off = store.watch((c) => all.push(c))
    nets.watch((c) => onlyNets.push(c))
    await nodes.put('n1', { hostname: 'a', role: 'worker', extra: 1 } as Node)
    await store.batch([nets.putOp('front', { vni: 4096 }), nodes.delOp('n1')])
    await store.batch([])
    expect(all).toEqual([
      [{ type: 'put', table: 'nodes', id: 'n1', value: { hostname: 'a', role: 'worker' } }],
      [
        { type: 'put', table: 'networks', id: 'front', value: { vni: 4096 } },
        { type: 'del', table: 'nodes', id: 'n1' },
      ],
    ])
    expect(onlyNets).toEqual([[{ type: 'put', table: 'networks', id: 'front', value: { vni: 4096 } }]])
    off()
    await nets.del('front')
    expect(all).toHaveLength(2)
    expect(onlyNets).toHaveLength(2)
  })

  it('logs a throwing listener without failing the write', async () => {
    store.watch(() => {
      throw new Error('boom')
    })
    const t = store.table<number>('t')
    await t.put('a', 1)
    expect(await t.get('a')).toBe(1)
    expect(logger.errors).toEqual(['store watch listener failed'])
  })
})

describe('lifecycle', () => {
  it('keeps data across close and reopen, with the same table objects', async () => {
    const nodes = store.table('nodes', nodeSchema)
    const other = store.table<string>('other')
    await store.batch([nodes.putOp('n1', { hostname: 'a', role: 'manager' }), other.putOp('k', 'v')])
    await store.close()
    expect(store.isOpen).toBe(false)
    await expect(nodes.get('n1')).rejects.toThrow(StoreNotOpenError)
    await store.close()
    await store.open()
    await store.open()
    expect(store.isOpen).toBe(true)
    expect(await nodes.get('n1')).toEqual({ hostname: 'a', role: 'manager' })

    const fresh = createStore({ logger }, { path: join(dir, 'state') })
    await store.close()
    await fresh.open()
    try {
      expect(await fresh.table('nodes', nodeSchema).list()).toEqual([
        { id: 'n1', value: { hostname: 'a', role: 'manager' } },
      ])
      expect(await fresh.table('other').get('k')).toBe('v')
    } finally {
      await fresh.close()
    }
  })

  it('refuses I/O before open with a named error', async () => {
    const closed = createStore({ logger }, { path: join(dir, 'never') })
    const t = closed.table<number>('t')
    const err = await t.get('a').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreNotOpenError)
    expect((err as StoreNotOpenError).code).toBe('ERR_STORE_NOT_OPEN')
  })
})
