import type { AbortOptions } from '@swarmnet/interface'
import type { MessageFrom, PubSub, PubSubHandler } from './types.js'

/** One delivery the hub is about to make, as seen by a {@link MemoryHub.filter}. */
export interface HubDelivery {
  topic: string
  from: string
  to: string
  data: Uint8Array
}

export interface MemoryHubOptions {
  /** Probability (0…1) that any single delivery is lost. */
  dropRate?: number
  /** Delivery delay; 0 (default) delivers in a microtask. */
  latencyMs?: number
  /** Randomness for `dropRate` (tests); default `Math.random`. */
  random?: () => number
}

/** A node's handle on the hub; `close()` unsubscribes everything (a crashed or stopped node). */
export interface MemoryPubSub extends PubSub {
  readonly nodeId: string
  close(): void
}

export interface MemoryHubStats {
  published: number
  delivered: number
  dropped: number
}

/** An in-process publish/subscribe hub with fault injection, for tests and benchmarks. */
export interface MemoryHub {
  /** A new handle for `nodeId` (messages are authenticated as `nodeId`; no self-delivery). */
  pubsub(nodeId: string): MemoryPubSub
  /** Loss probability of every delivery from now on. */
  dropRate: number
  /** Return false to drop a delivery (on top of `dropRate` and partitions). */
  filter: ((d: HubDelivery) => boolean) | undefined
  /** Splits the nodes: only nodes in the same group reach each other; unlisted nodes form one more group. */
  partition(...groups: ReadonlyArray<readonly string[]>): void
  heal(): void
  stats(): MemoryHubStats
}

interface Subscription {
  handle: object
  nodeId: string
  handler: PubSubHandler
}

/** Creates a {@link MemoryHub}. */
export function createMemoryHub(options: MemoryHubOptions = {}): MemoryHub {
  const random = options.random ?? Math.random
  const latency = options.latencyMs ?? 0
  const topics = new Map<string, Subscription[]>()
  const groupOf = new Map<string, number>()
  const counters: MemoryHubStats = { published: 0, delivered: 0, dropped: 0 }

  const reachable = (a: string, b: string): boolean =>
    groupOf.size === 0 || (groupOf.get(a) ?? -1) === (groupOf.get(b) ?? -1)

  const deliver = (sub: Subscription, data: Uint8Array, from: MessageFrom): void => {
    counters.delivered++
    try {
      void Promise.resolve(sub.handler(data, from)).catch(() => {})
    } catch {
      // a throwing handler is the node's problem, not the hub's
    }
  }

  const hub: MemoryHub = {
    dropRate: options.dropRate ?? 0,
    filter: undefined,

    pubsub(nodeId: string): MemoryPubSub {
      const handle = {}
      const mine = new Set<string>()
      return {
        nodeId,
        subscribe(topic: string, handler: PubSubHandler): void {
          if (mine.has(topic)) throw new Error(`already subscribed to ${topic}`)
          mine.add(topic)
          const subs = topics.get(topic) ?? []
          subs.push({ handle, nodeId, handler })
          topics.set(topic, subs)
        },
        unsubscribe(topic: string): void {
          mine.delete(topic)
          const subs = topics.get(topic)?.filter((s) => s.handle !== handle) ?? []
          if (subs.length === 0) topics.delete(topic)
          else topics.set(topic, subs)
        },
        async publish(topic: string, data: Uint8Array, opts?: AbortOptions): Promise<{ recipients: number }> {
          opts?.signal?.throwIfAborted()
          counters.published++
          const copy = data.slice()
          let recipients = 0
          for (const sub of topics.get(topic) ?? []) {
            if (sub.nodeId === nodeId) continue
            const d = { topic, from: nodeId, to: sub.nodeId, data: copy }
            if (!reachable(nodeId, sub.nodeId) || random() < hub.dropRate || hub.filter?.(d) === false) {
              counters.dropped++
              continue
            }
            recipients++
            const from = { nodeId }
            if (latency > 0) setTimeout(() => deliver(sub, copy, from), latency)
            else queueMicrotask(() => deliver(sub, copy, from))
          }
          return { recipients }
        },
        close(): void {
          for (const topic of [...mine]) this.unsubscribe(topic)
        },
      }
    },

    partition(...groups) {
      groupOf.clear()
      groups.forEach((g, i) => {
        for (const n of g) groupOf.set(n, i)
      })
    },

    heal() {
      groupOf.clear()
    },

    stats: () => ({ ...counters }),
  }
  return hub
}
