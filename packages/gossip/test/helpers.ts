import { createHmac, timingSafeEqual } from 'node:crypto'
import { type Logger, systemClock } from '@swarmnet/interface'
import {
  type Admission,
  createGossip,
  type Gossip,
  type GossipTuning,
  generateIdentity,
  type Identity,
  type MessageOrigin,
} from '../src/index.js'

export const TOPIC = '/swarmnet/test/1.0.0'
export const CLUSTER_SECRET = 'cluster-secret'

/** A no-op logger; set GOSSIP_TEST_LOG=1 to see the lines on stderr. */
export function testLogger(component = 'test'): Logger {
  const emit =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (process.env.GOSSIP_TEST_LOG)
        process.stderr.write(`${level} ${component} ${msg} ${JSON.stringify(fields)}\n`)
    }
  return {
    component,
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (name) => testLogger(`${component}:${name}`),
  }
}

function mac(secret: string, peerId: string, nodeId: string): string {
  return createHmac('sha256', secret).update(`${peerId}\n${nodeId}`).digest('hex')
}

export interface FakeAdmissionInit {
  /** The secret our proof is made with. @default CLUSTER_SECRET */
  secret?: string
  /** Accept every proof (a rogue that wants in but will not judge). */
  acceptAll?: boolean
  /** Peer ids whose proofs no longer verify (a fake revocation list). */
  revoked?: Set<string>
  /** Hold verification of a peer until the returned promise settles. */
  hold?: (peerId: string) => Promise<void> | undefined
}

/** Proof = `<nodeId>:<hmac(secret, peerId, nodeId)>`: bound to the peer id, like the real certificate. */
export function fakeAdmission(identity: Identity, nodeId: string, init: FakeAdmissionInit = {}): Admission {
  const secret = init.secret ?? CLUSTER_SECRET
  return {
    credentials: () => new TextEncoder().encode(`${nodeId}:${mac(secret, identity.peerId, nodeId)}`),
    async verify(peerId, proof) {
      await init.hold?.(peerId)
      const [claimed, tag] = new TextDecoder().decode(proof).split(':')
      if (claimed === undefined || tag === undefined) return undefined
      if (init.acceptAll) return { nodeId: claimed }
      if (init.revoked?.has(peerId)) throw new Error('certificate revoked')
      const want = Buffer.from(mac(CLUSTER_SECRET, peerId, claimed), 'hex')
      const got = Buffer.from(tag, 'hex')
      return got.length === want.length && timingSafeEqual(got, want) ? { nodeId: claimed } : undefined
    },
  }
}

export interface Received {
  data: string
  from: MessageOrigin
}

export interface TestNode {
  gossip: Gossip
  identity: Identity
  nodeId: string
  /** Messages received on {@link TOPIC}. */
  received: Received[]
  /** The first listen address (with /p2p/). */
  addr(): string
}

const running = new Set<{ stop(): unknown }>()

/** Stops every node started by this file's tests; call from afterEach. */
export async function stopAll(): Promise<void> {
  const all = [...running]
  running.clear()
  await Promise.allSettled(all.map(async (n) => n.stop()))
}

/** Remembers something with a stop() for {@link stopAll}. */
export function track<T extends { stop(): unknown }>(node: T): T {
  running.add(node)
  return node
}

export interface StartNodeInit extends FakeAdmissionInit {
  nodeId: string
  identity?: Identity
  tuning?: Partial<GossipTuning>
}

/** Starts a gossip node on 127.0.0.1, port 0, subscribed to {@link TOPIC}. */
export async function startNode(init: StartNodeInit): Promise<TestNode> {
  const identity = init.identity ?? (await generateIdentity())
  const gossip = createGossip(
    { logger: testLogger(init.nodeId), clock: systemClock },
    {
      privateKey: identity.privateKey,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      admission: fakeAdmission(identity, init.nodeId, init),
      ...(init.tuning === undefined ? {} : { tuning: init.tuning }),
    },
  )
  const received: Received[] = []
  gossip.subscribe(TOPIC, (data, from) => {
    received.push({ data: new TextDecoder().decode(data), from })
  })
  track(gossip)
  await gossip.start()
  return {
    gossip,
    identity,
    nodeId: init.nodeId,
    received,
    addr: () => {
      const addr = gossip.addrs()[0]
      if (addr === undefined) throw new Error('node has no address')
      return addr
    },
  }
}

/** Polls a condition (every 10 ms) until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const encode = (s: string): Uint8Array => new TextEncoder().encode(s)
