import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { silentLogger } from '@swarmnet/logger'
import { createStore, type Store } from '@swarmnet/store'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Membership } from '../src/membership.js'
import type { NodeRecord, RevokedRecord } from '../src/records.js'

describe('membership view for heartbeats', () => {
  let dir: string
  let store: Store
  let status: Record<string, 'ready' | 'down' | 'unknown'>
  let m: Membership

  const node = (id: string) =>
    ({
      id,
      peerId: `peer-${id}`,
      gossipAddrs: [`/ip4/192.0.2.1/tcp/7946/p2p/peer-${id}`],
    }) as unknown as NodeRecord

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-members-'))
    store = createStore({ logger: silentLogger }, { path: dir })
    await store.open()
    status = {}
    m = new Membership(
      store.table<NodeRecord>('nodes'),
      store.table<RevokedRecord>('revoked'),
      (id) => status[id] ?? 'unknown',
    )
  })
  afterEach(async () => {
    m.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps its version until a node, its status or the revocation list changes', async () => {
    const nodes = store.table<NodeRecord>('nodes')
    await nodes.put('a', node('a'))
    status.a = 'ready'
    const v1 = await m.view()
    expect(v1.peers.map((p) => [p.nodeId, p.status])).toEqual([['a', 'ready']])
    expect((await m.view()).version).toBe(v1.version)

    await nodes.put('b', node('b'))
    const v2 = await m.view()
    expect(v2.version).not.toBe(v1.version)
    status.b = 'ready'
    const v3 = await m.view()
    expect(v3.version).not.toBe(v2.version)
    status.b = 'down'
    expect((await m.view()).version).not.toBe(v3.version)

    await store
      .table<RevokedRecord>('revoked')
      .put('b', { nodeId: 'b', serial: '01', at: 'x' } as RevokedRecord)
    const v5 = await m.view()
    expect(v5.revoked).toEqual(['b'])
    expect((await m.view()).version).toBe(v5.version)
  })
})
