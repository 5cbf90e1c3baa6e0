import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { encode, startNode, stopAll, TOPIC, track, waitFor } from './helpers.js'

describe('admission', { timeout: 20_000 }, () => {
  afterEach(stopAll)

  it('refuses a peer with a bad proof: none of its messages are accepted, it is disconnected and banned', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let rogueId = ''
    const manager = await startNode({
      nodeId: 'manager',
      hold: (peerId) => (peerId === rogueId ? held : undefined),
    })
    const worker = await startNode({ nodeId: 'worker' })
    await worker.gossip.dial(manager.addr())
    // the rogue signs with the wrong secret, and would admit anyone
    const rogue = await startNode({ nodeId: 'rogue', secret: 'wrong', acceptAll: true })
    rogueId = rogue.identity.peerId
    const refused: string[] = []
    manager.gossip.on('peer:refused', (p) => refused.push(p.peerId))

    const dialing = rogue.gossip.dial(manager.addr()).then(
      () => undefined,
      (err: unknown) => err,
    )
    // while its proof is being verified, the rogue is pending: it publishes, it is not heard
    await waitFor('rogue sees the manager subscribed', () => rogue.gossip.subscribers(TOPIC).length === 1)
    expect(manager.gossip.stats().pending).toBe(1)
    let n = 0
    await waitFor('manager drops rogue messages', async () => {
      await rogue.gossip.publish(TOPIC, encode(`rogue-${n++}`))
      return manager.gossip.stats().droppedMessages > 0
    })
    // nor does it hear us: a pending peer is below the publish threshold
    const sent = await manager.gossip.publish(TOPIC, encode('secret'))
    expect(sent.recipients).not.toContain(rogueId)

    release()
    expect(await dialing).toHaveProperty('code', 'ERR_ADMISSION_REFUSED')
    await waitFor(
      'rogue disconnected',
      () => rogue.gossip.peers().length === 0 && manager.gossip.stats().pending === 0,
    )
    expect(refused).toEqual([rogueId])
    expect(manager.gossip.stats()).toMatchObject({ admitted: 1, refusedPeers: 1 })
    const { droppedMessages, droppedUnadmittedRelay } = manager.gossip.stats()
    expect(droppedUnadmittedRelay).toBeGreaterThan(0)
    expect(droppedMessages).toBeGreaterThanOrEqual(droppedUnadmittedRelay)
    expect(manager.received.filter((m) => m.data.startsWith('rogue'))).toEqual([])
    expect(worker.received.filter((m) => m.data.startsWith('rogue'))).toEqual([])
    expect(rogue.received).toEqual([])
    expect(manager.gossip.members().map((m) => m.nodeId)).toEqual(['worker'])

    // banned: an immediate redial is turned away by the gater
    await expect(rogue.gossip.dial(manager.addr())).rejects.toThrow()
    expect(manager.gossip.stats().deniedConnections).toBeGreaterThan(0)
  })

  it('disconnects a plain libp2p peer that never proves, after the grace period, having heard none of it', async () => {
    const manager = await startNode({ nodeId: 'manager', tuning: { admissionGraceMs: 1_000 } })
    const plain = track(
      await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
      }),
    )
    const heardByPlain: string[] = []
    plain.services.pubsub.addEventListener('message', (evt) => {
      heardByPlain.push(new TextDecoder().decode(evt.detail.data))
    })
    plain.services.pubsub.subscribe(TOPIC)
    await plain.dial(multiaddr(manager.addr()))
    await waitFor('plain peer sees the manager subscribed', () =>
      plain.services.pubsub.getSubscribers(TOPIC).some((p) => p.toString() === manager.identity.peerId),
    )
    let n = 0
    await waitFor('manager drops the plain peer messages', async () => {
      await plain.services.pubsub.publish(TOPIC, encode(`plain-${n++}`))
      return manager.gossip.stats().droppedMessages > 0
    })
    await manager.gossip.publish(TOPIC, encode('not for you'))
    expect(manager.gossip.stats().pending).toBe(1)

    await waitFor('grace period ends the connection', () => plain.getConnections().length === 0, 5_000)
    expect(manager.received).toEqual([])
    expect(heardByPlain).toEqual([])
    expect(manager.gossip.stats()).toMatchObject({ admitted: 0, pending: 0, refusedPeers: 1 })
    expect(manager.gossip.peers()).toEqual([])
  })

  it('revoke disconnects an admitted peer and keeps it from reconnecting', async () => {
    const manager = await startNode({ nodeId: 'manager' })
    const worker = await startNode({ nodeId: 'worker' })
    const goneFromWorker: string[] = []
    worker.gossip.on('peer:gone', (p) => goneFromWorker.push(p.nodeId))
    await worker.gossip.dial(manager.addr())
    await waitFor('manager admits worker', () => manager.gossip.peers().length === 1)

    await manager.gossip.revoke(worker.identity.peerId)
    expect(manager.gossip.peers()).toEqual([])
    await waitFor('worker sees the manager gone', () => goneFromWorker.length === 1)
    expect(manager.gossip.stats()).toMatchObject({ admitted: 0, revokedPeers: 1 })
    await expect(worker.gossip.dial(manager.addr())).rejects.toThrow()
    expect(manager.gossip.peers()).toEqual([])
  })

  it('reverify drops the members whose proofs no longer verify, and only those', async () => {
    const revoked = new Set<string>()
    const manager = await startNode({ nodeId: 'manager', revoked })
    const w1 = await startNode({ nodeId: 'worker-1' })
    const w2 = await startNode({ nodeId: 'worker-2' })
    await w1.gossip.dial(manager.addr())
    await w2.gossip.dial(manager.addr())
    expect(await manager.gossip.reverify()).toEqual([])

    revoked.add(w1.identity.peerId)
    expect(await manager.gossip.reverify()).toEqual([w1.identity.peerId])
    expect(manager.gossip.peers().map((p) => p.nodeId)).toEqual(['worker-2'])
    await waitFor('w1 disconnected', () => w1.gossip.peers().length === 0)
    expect(manager.gossip.stats().revokedPeers).toBe(1)
  })
})
