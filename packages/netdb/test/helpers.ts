import { type Clock, systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { vi } from 'vitest'
import {
  createNetdb,
  type LocalEntry,
  type MemoryHub,
  type MemoryPubSub,
  type Netdb,
  type NetdbTuning,
  type PubSub,
} from '../src/index.js'

/** Short periods so anti-entropy runs many times within a test. */
export const FAST: Partial<NetdbTuning> = {
  digestIntervalMs: 40,
  digestIdleIntervalMs: 160,
  syncBackoffMs: 20,
  syncCoalesceMs: 2,
  ownerExpiryMs: 0,
}

export const NET = 'net1'

export interface TestNode {
  id: string
  netdb: Netdb
  pubsub: MemoryPubSub
}

export async function startNode(
  hub: MemoryHub,
  id: string,
  opts: { clock?: Clock; tuning?: Partial<NetdbTuning>; entries?: LocalEntry[]; network?: string } = {},
): Promise<TestNode> {
  const pubsub = hub.pubsub(id)
  const clock = opts.clock ?? systemClock
  const netdb = createNetdb(
    { logger: silentLogger, clock, pubsub },
    { nodeId: id, tuning: opts.tuning ?? FAST },
  )
  await netdb.start()
  const network = opts.network ?? NET
  if (opts.entries !== undefined) await netdb.setLocal(network, opts.entries)
  await netdb.join(network)
  return { id, netdb, pubsub }
}

export async function stopNode(node: TestNode): Promise<void> {
  await node.netdb.stop()
  node.pubsub.close()
}

/** The entry with index `i` (10.0.x.y, its 02:42 MAC) on a node with underlay index `host`. */
export function entry(i: number, host: number): LocalEntry {
  const b = [10, 0, (i >> 8) & 255, i & 255]
  return {
    ip: b.join('.'),
    mac: `02:42:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
    vtep: `192.168.${(host >> 8) & 255}.${host & 255}`,
  }
}

/** A node's view of a network, sorted, as comparable strings. */
export function view(netdb: Netdb, network = NET): string[] {
  return netdb
    .entries(network)
    .map((e) => `${e.node} ${e.ip} ${e.mac} ${e.vtep}`)
    .sort()
}

/** Waits until every node sees exactly `expected`. */
export async function converged(
  nodes: readonly TestNode[],
  expected: readonly string[],
  timeout = 3000,
): Promise<void> {
  const want = [...expected].sort()
  await vi.waitFor(
    () => {
      for (const n of nodes) {
        const got = view(n.netdb)
        if (got.length !== want.length || got.some((g, i) => g !== want[i])) {
          throw new Error(`${n.id} sees ${got.length} entries, want ${want.length}`)
        }
      }
    },
    { timeout, interval: 5 },
  )
}

/** What a node's `view()` lists for its entries. */
export function line(node: string, e: LocalEntry): string {
  return `${node} ${e.ip} ${e.mac} ${e.vtep}`
}

const started: Netdb[] = []

/** A started netdb of node `id` over `pubsub` on `clock` (a fake one); {@link stopStarted} stops it. */
export async function startOn(
  clock: Clock,
  id: string,
  pubsub: PubSub,
  tuning: Partial<NetdbTuning>,
): Promise<Netdb> {
  const netdb = createNetdb({ logger: silentLogger, clock, pubsub }, { nodeId: id, tuning })
  started.push(netdb)
  await netdb.start()
  return netdb
}

/** Nodes a and b on `hub`, started on `clock`. */
export async function startPair(
  clock: Clock,
  hub: MemoryHub,
  tuning: Partial<NetdbTuning>,
): Promise<[Netdb, Netdb]> {
  return [
    await startOn(clock, 'a', hub.pubsub('a'), tuning),
    await startOn(clock, 'b', hub.pubsub('b'), tuning),
  ]
}

/** Stops every netdb {@link startOn} started; call it from afterEach. */
export async function stopStarted(): Promise<void> {
  await Promise.all(started.splice(0).map((n) => n.stop()))
}

export { ManualClock as FakeClock, settle } from '@swarmnet/interface'
