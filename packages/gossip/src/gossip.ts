import { GossipSub, type GossipSubComponents, type GossipsubMessage } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { type ConnectionGater, type PeerId, StrictSign } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import {
  type AbortOptions,
  type Clock,
  ConflictError,
  InvalidInputError,
  type Logger,
} from '@swarmnet/interface'
import { createLibp2p } from 'libp2p'
import { ADMIT_PROTOCOL, MEMBERS_TOPIC } from './admission.js'
import { type AdmissionCounters, Admitter, errorMessage, type Node } from './admitter.js'
import { GossipNotStartedError } from './errors.js'
import { identityFromPrivateKey, unmarshalPrivateKey } from './identity.js'
import { PeerTable } from './peers.js'
import { type GossipTuning, lanPreset } from './preset.js'
import type {
  Gossip,
  GossipComponents,
  GossipEvents,
  GossipInit,
  GossipPeer,
  GossipStats,
  MessageOrigin,
  PublishResult,
  TopicHandler,
} from './types.js'

/** Gossipsub app score of a peer that has not proven itself: below the publish and gossip
 * thresholds (we send it nothing), above the graylist (we still read, reject and count its RPCs,
 * and keep its subscriptions so we can serve it the moment it is admitted). */
const UNADMITTED_SCORE = -100
const SCORE_THRESHOLDS = { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -1000 }

type Listeners = { [E in keyof GossipEvents]: Set<GossipEvents[E]> }

/**
 * The libp2p node, its gossipsub configuration, topics and the public surface; who is heard
 * (admission, announcements, validators) is in `admitter.ts`, per-peer state in `peers.ts`.
 */
class GossipNode implements Gossip {
  readonly peerId: string
  readonly #log: Logger
  readonly #clock: Clock
  readonly #init: GossipInit
  readonly #tuning: GossipTuning
  readonly #table: PeerTable
  readonly #admitter: Admitter
  readonly #handlers = new Map<string, TopicHandler>()
  readonly #listeners: Listeners = {
    'peer:admitted': new Set(),
    'peer:gone': new Set(),
    'peer:refused': new Set(),
  }
  readonly #counters: AdmissionCounters = {
    refusedPeers: 0,
    revokedPeers: 0,
    droppedMessages: 0,
    droppedUnadmittedRelay: 0,
    droppedUnsigned: 0,
    droppedUnknownSigner: 0,
    droppedBadAnnouncement: 0,
    deniedConnections: 0,
    messagesOut: 0,
    bytesOut: 0,
  }
  readonly #received = { messagesIn: 0, bytesIn: 0 }
  #node: Node | undefined
  #lifetime = new AbortController()

  constructor(components: GossipComponents, init: GossipInit) {
    this.#log = components.logger
    this.#clock = components.clock
    this.#init = init
    this.#tuning = { ...lanPreset, ...init.tuning }
    this.#table = new PeerTable(this.#clock, this.#tuning.banMs)
    this.peerId = identityFromPrivateKey(init.privateKey).peerId
    this.#admitter = new Admitter({
      log: this.#log,
      clock: this.#clock,
      tuning: this.#tuning,
      admission: init.admission,
      table: this.#table,
      counters: this.#counters,
      peerId: this.peerId,
      node: () => this.#node,
      lifetime: () => this.#lifetime.signal,
      emit: (event, arg) => this.#emit(event, arg),
    })
  }

  async start(options?: AbortOptions): Promise<void> {
    if (this.#node !== undefined) return
    options?.signal?.throwIfAborted()
    this.#lifetime = new AbortController()
    const gossipsubOptions = this.#gossipsubOptions()
    const admitter = this.#admitter
    const node: Node = await createLibp2p({
      privateKey: unmarshalPrivateKey(this.#init.privateKey),
      addresses: { listen: this.#init.listen, announce: this.#init.announce ?? [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: this.#gater(),
      services: {
        identify: identify(),
        pubsub: (c: GossipSubComponents) => new GossipSub(c, gossipsubOptions),
      },
      start: false,
    })
    await node.handle(ADMIT_PROTOCOL, (data) => admitter.onAdmitStream(data), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    })
    node.addEventListener('connection:open', (evt) => admitter.onConnection(evt.detail))
    node.addEventListener('peer:disconnect', (evt) => admitter.onDisconnect(evt.detail.toString()))
    node.services.pubsub.addEventListener('gossipsub:message', (evt) => this.#onMessage(evt.detail))
    node.services.pubsub.addEventListener('subscription-change', (evt) => {
      const joined = evt.detail.subscriptions.some((s) => s.topic === MEMBERS_TOPIC && s.subscribe)
      if (joined && this.#table.nodeId(evt.detail.peerId.toString()) !== undefined)
        admitter.scheduleAnnounce()
    })
    try {
      await node.start()
      options?.signal?.throwIfAborted()
      for (const topic of this.#handlers.keys()) this.#join(node, topic)
      node.services.pubsub.topicValidators.set(MEMBERS_TOPIC, (source, msg) =>
        admitter.validateMember(source, msg),
      )
      node.services.pubsub.subscribe(MEMBERS_TOPIC)
    } catch (err) {
      await node.stop()
      throw err
    }
    this.#node = node
    void admitter.announceLoop(this.#lifetime.signal)
    this.#log.info('gossip started', { peerId: this.peerId, addrs: this.addrs() })
  }

  async stop(options?: AbortOptions): Promise<void> {
    const node = this.#node
    if (node === undefined) return
    options?.signal?.throwIfAborted()
    this.#lifetime.abort(new GossipNotStartedError('gossip stopped'))
    await node.stop()
    this.#node = undefined
    this.#table.clear()
    this.#log.info('gossip stopped', { peerId: this.peerId })
  }

  addrs(): string[] {
    return this.#node?.getMultiaddrs().map((ma) => ma.toString()) ?? []
  }

  async dial(addr: string, options?: AbortOptions): Promise<GossipPeer> {
    const node = this.#running()
    let ma: Multiaddr
    try {
      ma = multiaddr(addr)
    } catch (err) {
      throw new InvalidInputError(`not a multiaddr: ${addr}`, { cause: err })
    }
    const connection = await node.dial(ma, options)
    const peerId = connection.remotePeer.toString()
    await this.#admitter.whenAdmitted(node, connection.remotePeer, options)
    const nodeId = this.#table.nodeId(peerId) ?? ''
    return { peerId, nodeId, addr: connection.remoteAddr.toString() }
  }

  subscribe(topic: string, handler: TopicHandler): void {
    if (topic === '') throw new InvalidInputError('empty topic')
    if (topic === MEMBERS_TOPIC) throw new ConflictError(`${MEMBERS_TOPIC} is internal`)
    if (this.#handlers.has(topic)) throw new ConflictError(`already subscribed to ${topic}`)
    this.#handlers.set(topic, handler)
    if (this.#node !== undefined) this.#join(this.#node, topic)
  }

  unsubscribe(topic: string): void {
    if (!this.#handlers.delete(topic)) return
    const pubsub = this.#node?.services.pubsub
    if (pubsub === undefined) return
    pubsub.unsubscribe(topic)
    pubsub.topicValidators.delete(topic)
  }

  async publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<PublishResult> {
    const node = this.#running()
    options?.signal?.throwIfAborted()
    if (data.length > this.#tuning.maxMessageBytes) {
      throw new InvalidInputError(
        `message is ${data.length} bytes, the limit is ${this.#tuning.maxMessageBytes}`,
      )
    }
    const result = await node.services.pubsub.publish(topic, data)
    this.#counters.messagesOut++
    this.#counters.bytesOut += data.length
    return { recipients: result.recipients.map((p) => p.toString()) }
  }

  peers(): GossipPeer[] {
    return this.#table.admitted().map(({ peerId, nodeId, addr }) => ({ peerId, nodeId, addr }))
  }

  members(): MessageOrigin[] {
    return this.#table.members().map(({ peerId, nodeId }) => ({ peerId, nodeId }))
  }

  subscribers(topic: string): string[] {
    const pubsub = this.#node?.services.pubsub
    if (pubsub === undefined) return []
    return pubsub
      .getSubscribers(topic)
      .map((p) => p.toString())
      .filter((p) => this.#table.nodeId(p) !== undefined)
  }

  meshPeers(topic: string): string[] {
    const pubsub = this.#node?.services.pubsub
    if (pubsub === undefined) return []
    return pubsub.getMeshPeers(topic).filter((p) => this.#table.nodeId(p) !== undefined)
  }

  async revoke(peerId: string, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    await this.#admitter.refuse(peerId, 'revoked', 'revoked')
  }

  async reverify(options?: AbortOptions): Promise<string[]> {
    const removed: string[] = []
    await Promise.all(
      this.#table.members().map(async ({ peerId, proof }) => {
        let reason = 'proof no longer verifies'
        try {
          if ((await this.#init.admission.verify(peerId, proof, options))?.nodeId) return
        } catch (err) {
          options?.signal?.throwIfAborted()
          reason = `proof no longer verifies: ${errorMessage(err)}`
        }
        if (this.#table.signer(peerId) === undefined) return
        removed.push(peerId)
        await this.#admitter.refuse(peerId, reason, 'revoked')
      }),
    )
    return removed
  }

  on<E extends keyof GossipEvents>(event: E, listener: GossipEvents[E]): () => void {
    const set = this.#listeners[event] as Set<GossipEvents[E]>
    set.add(listener)
    return () => set.delete(listener)
  }

  stats(): GossipStats {
    return {
      admitted: this.#table.count('admitted'),
      pending: this.#table.count('pending'),
      ...this.#counters,
      ...this.#received,
    }
  }

  #running(): Node {
    if (this.#node === undefined) throw new GossipNotStartedError()
    return this.#node
  }

  #gossipsubOptions(): ConstructorParameters<typeof GossipSub>[1] {
    const t = this.#tuning
    return {
      globalSignaturePolicy: StrictSign,
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      fallbackToFloodsub: false,
      doPX: false,
      floodPublish: t.floodPublish,
      heartbeatInterval: t.heartbeatMs,
      D: t.meshDegree,
      Dlo: t.meshDegreeLow,
      Dhi: t.meshDegreeHigh,
      mcacheLength: t.messageCacheHeartbeats,
      mcacheGossip: t.gossipHeartbeats,
      seenTTL: t.seenTtlMs,
      // PRUNE carries the backoff in whole seconds
      pruneBackoff: Math.max(1, Math.round(t.pruneBackoffMs / 1000)) * 1000,
      unsubcribeBackoff: Math.max(1, Math.round(t.unsubscribeBackoffMs / 1000)) * 1000,
      maxInboundDataLength: t.maxMessageBytes,
      scoreParams: {
        appSpecificScore: (peerId) => (this.#table.nodeId(peerId) === undefined ? UNADMITTED_SCORE : 0),
        appSpecificWeight: 1,
        // admission, not address heuristics, keeps Sybils out; tests and NATed hosts share IPs
        IPColocationFactorWeight: 0,
      },
      scoreThresholds: SCORE_THRESHOLDS,
    }
  }

  #gater(): ConnectionGater {
    const deny = (peer: PeerId): boolean => {
      if (!this.#table.isBanned(peer.toString())) return false
      this.#counters.deniedConnections++
      this.#log.debug('connection denied: peer is banned', { peerId: peer.toString() })
      return true
    }
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
    }
  }

  #join(node: Node, topic: string): void {
    node.services.pubsub.topicValidators.set(topic, (source, msg) => this.#admitter.validate(source, msg))
    node.services.pubsub.subscribe(topic)
  }

  #onMessage({ msg }: GossipsubMessage): void {
    this.#received.messagesIn++
    this.#received.bytesIn += msg.data.length
    const handler = this.#handlers.get(msg.topic)
    if (handler === undefined || msg.type !== 'signed') return
    const peerId = msg.from.toString()
    const nodeId = this.#table.signer(peerId)
    if (nodeId === undefined) return
    const fail = (err: unknown): void =>
      this.#log.error('topic handler failed', { topic: msg.topic, peerId, error: errorMessage(err) })
    try {
      void Promise.resolve(handler(msg.data, { peerId, nodeId })).catch(fail)
    } catch (err) {
      fail(err)
    }
  }

  #emit<E extends keyof GossipEvents>(event: E, arg: Parameters<GossipEvents[E]>[0]): void {
    for (const listener of this.#listeners[event]) {
      try {
        ;(listener as (a: typeof arg) => void)(arg)
      } catch (err) {
        this.#log.error('event listener failed', { event, error: errorMessage(err) })
      }
    }
  }
}

/** Creates the gossip mesh; call `start()` to listen. */
export function createGossip(components: GossipComponents, init: GossipInit): Gossip {
  return new GossipNode(components, init)
}
