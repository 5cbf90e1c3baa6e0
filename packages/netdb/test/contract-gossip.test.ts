import { createHmac, timingSafeEqual } from 'node:crypto'
import { type Admission, createGossip, type Gossip, generateIdentity } from '@swarmnet/gossip'
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { vi } from 'vitest'
import type { PubSub } from '../src/index.js'
import { describeNetdbContract } from './contract.js'

const SECRET = 'netdb-contract'
const tag = (peerId: string, nodeId: string) =>
  createHmac('sha256', SECRET).update(`${peerId}\n${nodeId}`).digest()

/** Proof = `<nodeId>:<hmac(peerId, nodeId)>`: bound to the peer id like the node certificate, without a CA. */
function admission(peerId: string, nodeId: string): Admission {
  return {
    credentials: () => new TextEncoder().encode(`${nodeId}:${tag(peerId, nodeId).toString('hex')}`),
    async verify(remote, proof) {
      const [claimed = '', mac = ''] = new TextDecoder().decode(proof).split(':')
      const want = tag(remote, claimed)
      const got = Buffer.from(mac, 'hex')
      return got.length === want.length && timingSafeEqual(got, want) ? { nodeId: claimed } : undefined
    },
  }
}

/**
 * Real gossip nodes on 127.0.0.1 (TCP, noise, yamux, gossipsub, admission), every one dialled
 * by every other as the agents do; netdb's `from.nodeId` is the admitted node id.
 */
describeNetdbContract('real gossipsub (3 libp2p nodes over TCP)', () => {
  const started: Gossip[] = []
  return {
    async pubsubs(ids): Promise<PubSub[]> {
      for (const id of ids) {
        const identity = await generateIdentity()
        const gossip = createGossip(
          { logger: silentLogger, clock: systemClock },
          {
            privateKey: identity.privateKey,
            listen: ['/ip4/127.0.0.1/tcp/0'],
            admission: admission(identity.peerId, id),
          },
        )
        started.push(gossip)
        await gossip.start()
      }
      for (const [i, g] of started.entries()) {
        for (const other of started.slice(i + 1)) await g.dial(other.addrs()[0] ?? '')
      }
      await vi.waitFor(() => {
        if (!started.every((g) => g.peers().length === ids.length - 1)) throw new Error('not all admitted')
      })
      return started
    },
    async close() {
      await Promise.allSettled(started.map((g) => g.stop()))
    },
  }
})
