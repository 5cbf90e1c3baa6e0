import { afterEach, describe, expect, it } from 'vitest'
import { generateIdentity, identityFromPrivateKey } from '../src/index.js'
import { encode, startNode, stopAll, TOPIC, waitFor } from './helpers.js'

describe('identity', { timeout: 20_000 }, () => {
  afterEach(stopAll)

  it('round-trips the persisted key to the same peer id', async () => {
    const identity = await generateIdentity()
    expect(identity.peerId).toMatch(/^12D3KooW/)
    expect(identityFromPrivateKey(identity.privateKey)).toEqual(identity)
  })

  it('refuses bytes that are not a key', () => {
    expect(() => identityFromPrivateKey(encode('not a key'))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
    )
  })

  it('a restarted node keeps its peer id and is admitted again', async () => {
    const identity = await generateIdentity()
    const manager = await startNode({ nodeId: 'manager' })
    const first = await startNode({ nodeId: 'worker', identity })
    expect(first.gossip.peerId).toBe(identity.peerId)
    expect(first.addr()).toContain(`/p2p/${identity.peerId}`)
    await first.gossip.dial(manager.addr())
    await first.gossip.stop()
    await waitFor('manager sees the worker gone', () => manager.gossip.peers().length === 0)

    const again = await startNode({ nodeId: 'worker', identity })
    expect(again.gossip.peerId).toBe(identity.peerId)
    const peer = await again.gossip.dial(manager.addr())
    expect(peer.nodeId).toBe('manager')
    expect(manager.gossip.peers()).toMatchObject([{ peerId: identity.peerId, nodeId: 'worker' }])
    await waitFor('manager relays to the worker', () => manager.gossip.meshPeers(TOPIC).length === 1)
    await manager.gossip.publish(TOPIC, encode('welcome back'))
    await waitFor('worker hears the manager', () => again.received.some((m) => m.data === 'welcome back'))
  })
})
