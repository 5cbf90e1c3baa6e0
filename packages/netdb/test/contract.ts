/**
 * The netdb's behaviour over any {@link PubSub}: the same cases run on the in-memory hub
 * (`contract-memory.test.ts`) and on real `@swarmnet/gossip` nodes over TCP
 * (`contract-gossip.test.ts`). Faults are injected the same way on both: a receive-side
 * filter between a transport and its netdb (see {@link faulty}), so the cases do not depend
 * on one transport's fault-injection knobs.
 */
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { encodeNetdb } from '@swarmnet/wire'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createNetdb, type LocalEntry, type Netdb, type NetdbTuning, type PubSub } from '../src/index.js'
import { entry, line, NET, view } from './helpers.js'

/** A transport under test: `n` connected pubsub handles, authenticated as the given node ids. */
export interface Transport {
  pubsubs(ids: readonly string[]): Promise<PubSub[]>
  close(): Promise<void>
}

/** Tuning both transports converge with in well under a second. */
export const CONTRACT_TUNING: Partial<NetdbTuning> = {
  digestIntervalMs: 100,
  digestIdleIntervalMs: 400,
  syncBackoffMs: 50,
  syncCoalesceMs: 5,
  tombstoneTtlMs: 3_000,
  ownerExpiryMs: 0,
}

/** Decides per delivery whether `to` hears `from`. */
type Cut = (from: string, to: string, data: Uint8Array) => boolean

/** Wraps `to`'s pubsub so that its netdb hears only what `cut` lets through. */
function faulty(inner: PubSub, to: string, cut: () => Cut | undefined): PubSub {
  return {
    subscribe: (topic, handler) =>
      inner.subscribe(topic, (data, from) => {
        if (cut()?.(from.nodeId, to, data) === false) return
        return handler(data, from)
      }),
    unsubscribe: (topic) => inner.unsubscribe(topic),
    publish: (topic, data, options) => inner.publish(topic, data, options),
  }
}

interface Node {
  id: string
  netdb: Netdb
  pubsub: PubSub
}

const TOPIC = `/swarmnet/net/${NET}/1.0.0`

export function describeNetdbContract(name: string, transport: () => Transport, timeoutMs = 10_000): void {
  describe(`netdb contract on ${name}`, { timeout: 30_000 }, () => {
    let t: Transport | undefined
    let nodes: Node[] = []
    let cut: Cut | undefined

    afterEach(async () => {
      await Promise.allSettled(nodes.map((n) => n.netdb.stop()))
      await t?.close()
      nodes = []
      cut = undefined
      t = undefined
    })

    const converged = async (want: readonly string[], who: readonly Node[] = nodes): Promise<void> => {
      const w = [...want].sort().join('\n')
      await vi.waitFor(
        () => {
          for (const n of who) {
            const got = view(n.netdb).join('\n')
            if (got !== w) throw new Error(`${n.id} sees\n${got}\nwant\n${w}`)
          }
        },
        { timeout: timeoutMs, interval: 20 },
      )
    }

    /** Three nodes a, b, c with one entry each, converged. */
    const three = async (): Promise<Node[]> => {
      t = transport()
      const ids = ['a', 'b', 'c']
      const pubsubs = await t.pubsubs(ids)
      nodes = ids.map((id, i) => {
        const pubsub = faulty(pubsubs[i] as PubSub, id, () => cut)
        const netdb = createNetdb(
          { logger: silentLogger, clock: systemClock, pubsub },
          { nodeId: id, tuning: CONTRACT_TUNING },
        )
        return { id, netdb, pubsub }
      })
      for (const [i, n] of nodes.entries()) {
        await n.netdb.start()
        await n.netdb.setLocal(NET, [entry(i + 1, i + 1)])
        await n.netdb.join(NET)
      }
      await converged(nodes.map((n, i) => line(n.id, entry(i + 1, i + 1))))
      return nodes
    }
    const set = (n: Node | undefined, entries: LocalEntry[]) => n?.netdb.setLocal(NET, entries)

    it('nodes learn each other’s entries; adds, moves and deletes propagate', async () => {
      const [a, b, c] = await three()
      await set(a, [entry(1, 1), entry(10, 1)])
      await set(b, [{ ...entry(2, 2), vtep: '192.168.9.9' }])
      await set(c, [])
      await converged([
        line('a', entry(1, 1)),
        line('a', entry(10, 1)),
        line('b', { ...entry(2, 2), vtep: '192.168.9.9' }),
      ])
      expect(b?.netdb.stats().received).toBeGreaterThan(0)
    })

    it('carries an entry’s service; a change of it alone (disabled) propagates; a bad one is refused', async () => {
      const [a, b] = await three()
      const svc = { id: 'svc1', name: 'web', aliases: ['abc123', 'web.1.abc123'] }
      await set(a, [{ ...entry(1, 1), svc }])
      const seen = () => b?.netdb.entries(NET).find((e) => e.ip === entry(1, 1).ip)?.svc
      await vi.waitFor(() => expect(seen()).toEqual(svc), { timeout: timeoutMs, interval: 20 })
      await set(a, [{ ...entry(1, 1), svc: { ...svc, disabled: true } }])
      await vi.waitFor(() => expect(seen()).toEqual({ ...svc, disabled: true }), {
        timeout: timeoutMs,
        interval: 20,
      })
      await expect(set(a, [{ ...entry(1, 1), svc: { id: 'svc1', name: 'web/../x' } }])).rejects.toThrow(
        /invalid service/,
      )
    })

    it('drops a message whose owner is not its authenticated sender, and garbage', async () => {
      const [, b, c] = await three()
      const forged = encodeNetdb({
        v: 1,
        t: 'entries',
        network: NET,
        owner: 'a',
        adds: [{ ...entry(66, 6), l: Number.MAX_SAFE_INTEGER }],
        dels: [{ ip: entry(1, 1).ip, l: Number.MAX_SAFE_INTEGER }],
      })
      const forgedFull = encodeNetdb({
        v: 1,
        t: 'full',
        network: NET,
        owner: 'a',
        l: 1e15,
        part: 0,
        parts: 1,
        entries: [],
      })
      await c?.pubsub.publish(TOPIC, forged)
      await c?.pubsub.publish(TOPIC, forgedFull)
      await c?.pubsub.publish(TOPIC, new TextEncoder().encode('{"v":1,'))
      await vi.waitFor(() => {
        expect(b?.netdb.stats()).toMatchObject({ droppedWrongOwner: 2, droppedMalformed: 1 })
      })
      await converged([line('a', entry(1, 1)), line('b', entry(2, 2)), line('c', entry(3, 3))])
    })

    it('repairs a lost change through the owner’s digest and a sync', async () => {
      const [a, , c] = await three()
      let lost = 0
      cut = (from, to, data) => {
        const drop =
          from === 'a' && to === 'c' && lost === 0 && new TextDecoder().decode(data).includes('"entries"')
        if (drop) lost++
        return !drop
      }
      await set(a, [entry(1, 1), entry(11, 1)])
      await converged([
        line('a', entry(1, 1)),
        line('a', entry(11, 1)),
        line('b', entry(2, 2)),
        line('c', entry(3, 3)),
      ])
      expect(lost).toBe(1)
      expect(c?.netdb.stats().syncsRequested).toBeGreaterThan(0)
    })

    it('keeps a cut-off node’s entries during a partition and converges after it heals', async () => {
      const [a, b, c] = await three()
      cut = (from, to) => (from === 'a') === (to === 'a')
      await set(a, [entry(1, 1), entry(14, 1)])
      await set(b, [])
      await set(c, [entry(3, 3), entry(15, 3)])
      await converged(
        [line('b', entry(2, 2)), line('c', entry(3, 3)), line('a', entry(1, 1)), line('a', entry(14, 1))],
        [a as Node],
      )
      await converged(
        [line('a', entry(1, 1)), line('c', entry(3, 3)), line('c', entry(15, 3))],
        [b as Node, c as Node],
      )
      // nothing is withdrawn for silence: the other side's entries stay while both publish 5 digests unheard
      const [da, db] = [a?.netdb.stats().digestsSent ?? 0, b?.netdb.stats().digestsSent ?? 0]
      await vi.waitFor(
        () => {
          expect(a?.netdb.stats().digestsSent).toBeGreaterThanOrEqual(da + 5)
          expect(b?.netdb.stats().digestsSent).toBeGreaterThanOrEqual(db + 5)
        },
        { timeout: timeoutMs, interval: 20 },
      )
      expect(view(b?.netdb as Netdb)).toContain(line('a', entry(1, 1)))
      expect(view(a?.netdb as Netdb)).toContain(line('b', entry(2, 2)))
      cut = undefined
      await converged([
        line('a', entry(1, 1)),
        line('a', entry(14, 1)),
        line('c', entry(3, 3)),
        line('c', entry(15, 3)),
      ])
    })

    it('a leave withdraws the leaver’s entries, also when its last delete and leave are lost', async () => {
      const [a, b, c] = await three()
      await a?.netdb.leave(NET)
      await converged([line('b', entry(2, 2)), line('c', entry(3, 3))], [b as Node, c as Node])
      let lostLeave = false
      cut = (from, to, data) => {
        // b's delete and leave reach nobody (its digests after leaving may)
        if (from !== 'b' || new TextDecoder().decode(data).includes('"digest"')) return true
        if (to === 'c' && new TextDecoder().decode(data).includes('"full"')) lostLeave = true
        return false
      }
      await set(b, [])
      await b?.netdb.leave(NET)
      await vi.waitFor(() => expect(lostLeave).toBe(true))
      cut = undefined
      await converged([line('c', entry(3, 3))], [c as Node])
      expect(c?.netdb.stats().ownersEmptied).toBe(1)
    })

    it('withdrawNode drops a node and ignores it; restoreNode brings it back', async () => {
      const [a, b] = await three()
      b?.netdb.withdrawNode('a')
      expect(view(b?.netdb as Netdb)).toEqual([line('b', entry(2, 2)), line('c', entry(3, 3))])
      await set(a, [entry(1, 1), entry(16, 1)])
      await vi.waitFor(() => expect(b?.netdb.stats().droppedWithdrawn).toBeGreaterThan(0))
      expect(view(b?.netdb as Netdb)).toEqual([line('b', entry(2, 2)), line('c', entry(3, 3))])
      await b?.netdb.restoreNode('a')
      await converged([
        line('a', entry(1, 1)),
        line('a', entry(16, 1)),
        line('b', entry(2, 2)),
        line('c', entry(3, 3)),
      ])
    })

    it('a restarted netdb (same node id) converges and its new entries win', async () => {
      const [, b] = await three()
      if (b === undefined) throw new Error('b')
      await b.netdb.stop()
      const moved = [{ ...entry(2, 2), mac: '02:42:0a:00:00:99', vtep: '192.168.0.22' }, entry(20, 2)]
      b.netdb = createNetdb(
        { logger: silentLogger, clock: systemClock, pubsub: b.pubsub },
        { nodeId: 'b', tuning: CONTRACT_TUNING },
      )
      await b.netdb.start()
      await b.netdb.setLocal(NET, moved)
      await b.netdb.join(NET)
      await converged([line('a', entry(1, 1)), line('c', entry(3, 3)), ...moved.map((e) => line('b', e))])
    })
  })
}
