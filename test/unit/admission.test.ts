/**
 * Gossip admission with real cluster certificates (pki + gossip, the way the agent wires
 * them): only a peer proving a valid certificate of this cluster, bound to its own libp2p
 * peer id, gets anything accepted. Real libp2p over TCP on 127.0.0.1.
 */
import { createGossip, type Gossip, generateIdentity } from '@swarmnet/gossip'
import { systemClock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { type ClusterCa, createPki } from '@swarmnet/pki'
import { afterEach, describe, expect, it } from 'vitest'

const TOPIC = '/swarmnet/admission-test/1.0.0'
const pki = createPki({ clock: systemClock })
const clusterId = 'c'.repeat(25)
const ca = pki.createCa({ clusterId })
const otherCa = pki.createCa({ clusterId })

interface Node {
  gossip: Gossip
  received: string[]
}
const nodes: Node[] = []

/** A node whose proof is a certificate for `certPeerId` (its own peer id unless forged) from `authority`. */
async function startNode(nodeId: string, authority: ClusterCa, forgePeer = false): Promise<Node> {
  const id = await generateIdentity()
  const other = await generateIdentity()
  const csr = pki.createNodeCsr({ nodeId, peerId: forgePeer ? other.peerId : id.peerId })
  const cert = pki.issueNodeCertificate(authority, { csrPem: csr.csrPem, role: 'worker', clusterId, nodeId })
  const received: string[] = []
  const gossip = createGossip(
    { logger: silentLogger, clock: systemClock },
    {
      privateKey: id.privateKey,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      tuning: { admissionGraceMs: 1_000 },
      admission: {
        credentials: () => new TextEncoder().encode(cert.certPem),
        verify: async (peerId, proof) => {
          try {
            const v = pki.verifyNodeCertificate(new TextDecoder().decode(proof), {
              caCertPem: ca.certPem,
              clusterId,
              peerId,
            })
            return { nodeId: v.nodeId }
          } catch {
            return undefined
          }
        },
      },
    },
  )
  gossip.subscribe(TOPIC, (data) => {
    received.push(new TextDecoder().decode(data))
  })
  await gossip.start()
  const node = { gossip, received }
  nodes.push(node)
  return node
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.gossip.stop().catch(() => undefined)
})

describe('gossip admission with cluster certificates', () => {
  it('admits a peer with a valid certificate and accepts its messages', async () => {
    const a = await startNode('a'.repeat(25), ca)
    const b = await startNode('b'.repeat(25), ca)
    await b.gossip.dial(a.gossip.addrs()[0] ?? '')
    await until('a sees b subscribed', () => a.gossip.subscribers(TOPIC).length === 1)
    await until('b delivered', () => {
      void b.gossip.publish(TOPIC, new TextEncoder().encode('hello'))
      return a.received.includes('hello')
    })
  })

  it.each([
    ['a certificate from another CA', otherCa, false],
    ['a certificate bound to another peer id', ca, true],
  ])('refuses %s: nothing accepted, connection dropped', async (_what, authority, forge) => {
    const a = await startNode('a'.repeat(25), ca)
    const rogue = await startNode('r'.repeat(25), authority, forge)
    await expect(rogue.gossip.dial(a.gossip.addrs()[0] ?? '')).rejects.toThrow()
    for (let i = 0; i < 5; i++) await rogue.gossip.publish(TOPIC, new TextEncoder().encode(`spam-${i}`))
    await until('a refused the rogue', () => a.gossip.stats().refusedPeers >= 1)
    expect(a.received).toEqual([])
    expect(a.gossip.peers()).toEqual([])
  })
})
