import { GossipSub, type GossipSubComponents, type GossipsubMessage } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type Identify, identify } from '@libp2p/identify'
import {
  type Connection,
  type ConnectionGater,
  type IncomingStreamData,
  type Libp2p,
  type Message,
  type PeerId,
  StrictSign,
  TopicValidatorResult,
} from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
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
import { ADMIT_PROTOCOL, type Admission, MEMBERS_TOPIC, receiveProof, sendProof } from './admission.js'
import { AdmissionRefusedError, GossipNotStartedError } from './errors.js'
import { identityFromPrivateKey, unmarshalPrivateKey } from './identity.js'
import { PeerTable } from './peers.js'
import { type GossipTuning, lanPreset } from './preset.js'

/** An admitted peer. */
export interface GossipPeer {
  /** libp2p peer id */
  peerId: string
  /** The node id its proof was verified for. */
  nodeId: string
  /** The remote address of one of its connections (a multiaddr string). */
  addr: string
}

/** Who sent a message: always an admitted peer. */
export interface MessageOrigin {
  peerId: string
  nodeId: string
}

/** Receives the messages of one topic; a thrown error or rejection is logged, never propagated. */
export type TopicHandler = (data: Uint8Array, from: MessageOrigin) => void | Promise<void>

/** Events, by name, with their listener signatures. */
export interface GossipEvents {
  /** A peer proved itself; its messages are accepted from now on. */
  'peer:admitted': (peer: GossipPeer) => void
  /** An admitted peer disconnected, was revoked, or no longer verifies. */
  'peer:gone': (peer: MessageOrigin) => void
  /** A peer was refused (bad proof, no proof within the grace period) or revoked. */
  'peer:refused': (peer: { peerId: string; reason: string }) => void
}

/** Counters since start, plus current peer counts. */
export interface GossipStats {
  /** Peers admitted now. */
  admitted: number
  /** Peers connected but not (yet) proven. */
  pending: number
  /** Peers refused: proof refused, malformed, or not given within the grace period. */
  refusedPeers: number
  /** Admitted peers removed by `revoke` or `reverify`. */
  revokedPeers: number
  /** Messages rejected because their sender or their relay was not admitted. */
  droppedMessages: number
  /** Connections turned away by the gater because the peer is banned. */
  deniedConnections: number
}

export interface PublishResult {
  /** Peer ids the message was sent to directly. */
  recipients: string[]
}

export interface GossipComponents {
  logger: Logger
  clock: Clock
}

export interface GossipInit {
  /** Protobuf-marshalled libp2p private key (see `generateIdentity`). */
  privateKey: Uint8Array
  /** Multiaddrs to listen on, e.g. `/ip4/192.0.2.11/tcp/7946`. */
  listen: string[]
  /** Proves this node and judges others. */
  admission: Admission
  /** Multiaddrs to announce instead of the listen addresses (NAT, 0.0.0.0). */
  announce?: string[]
  /** Overrides of {@link lanPreset}. */
  tuning?: Partial<GossipTuning>
}

/** The cluster's gossip mesh. Only admitted peers are heard. */
export interface Gossip {
  /** Our libp2p peer id. */
  readonly peerId: string
  start(options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
  /** Our listen addresses with `/p2p/<peerId>`, once started. */
  addrs(): string[]
  /** Connects to a peer (e.g. the manager); resolves once both sides admitted each other. */
  dial(addr: string, options?: AbortOptions): Promise<GossipPeer>
  /** Joins a topic (before or after start); one handler per topic. */
  subscribe(topic: string, handler: TopicHandler): void
  unsubscribe(topic: string): void
  /** Publishes a signed message; resolves even when no peer is subscribed yet. */
  publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<PublishResult>
  /** Admitted peers (connected to us). */
  peers(): GossipPeer[]
  /** Every verified member we know of: admitted peers and members heard of through announcements. */
  members(): MessageOrigin[]
  /** Admitted peers we know to be subscribed to a topic. */
  subscribers(topic: string): string[]
  /**
   * Admitted peers in our gossipsub mesh for a topic: those we relay its messages to. A peer joins
   * it within a heartbeat or two of admission; a message relayed before that does not reach it
   * (anti-entropy covers that), so tests and diagnostics wait on this.
   */
  meshPeers(topic: string): string[]
  /** Removes a peer now: disconnects it and bans it from reconnecting. */
  revoke(peerId: string, options?: AbortOptions): Promise<void>
  /** Re-verifies every admitted peer's proof (after a revocation); returns the peer ids removed. */
  reverify(options?: AbortOptions): Promise<string[]>
  /** Listens to an event; returns the function that stops listening. */
  on<E extends keyof GossipEvents>(event: E, listener: GossipEvents[E]): () => void
  stats(): GossipStats
}

/** Gossipsub app score of a peer that has not proven itself: below the publish and gossip
 * thresholds (we send it nothing), above the graylist (we still read, reject and count its RPCs,
 * and keep its subscriptions so we can serve it the moment it is admitted). */
const UNADMITTED_SCORE = -100
const SCORE_THRESHOLDS = { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -1000 }

type Node = Libp2p<{ identify: Identify; pubsub: GossipSub }>

type Listeners = { [E in keyof GossipEvents]: Set<GossipEvents[E]> }

class GossipNode implements Gossip {
  readonly peerId: string
  readonly #log: Logger
  readonly #clock: Clock
  readonly #init: GossipInit
  readonly #tuning: GossipTuning
  readonly #table: PeerTable
  readonly #handlers = new Map<string, TopicHandler>()
  readonly #listeners: Listeners = {
    'peer:admitted': new Set(),
    'peer:gone': new Set(),
    'peer:refused': new Set(),
  }
  /** Fires whenever a peer's admission state changes; `dial` waits on it. */
  readonly #changes = new EventTarget()
  readonly #counters = { refusedPeers: 0, revokedPeers: 0, droppedMessages: 0, deniedConnections: 0 }
  #node: Node | undefined
  #lifetime = new AbortController()
  #announcePending = false

  constructor(components: GossipComponents, init: GossipInit) {
    this.#log = components.logger
    this.#clock = components.clock
    this.#init = init
    this.#tuning = { ...lanPreset, ...init.tuning }
    this.#table = new PeerTable(this.#clock, this.#tuning.banMs)
    this.peerId = identityFromPrivateKey(init.privateKey).peerId
  }

  async start(options?: AbortOptions): Promise<void> {
    if (this.#node !== undefined) return
    options?.signal?.throwIfAborted()
    this.#lifetime = new AbortController()
    const gossipsubOptions = this.#gossipsubOptions()
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
    await node.handle(ADMIT_PROTOCOL, (data) => this.#onAdmitStream(data), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    })
    node.addEventListener('connection:open', (evt) => this.#onConnection(evt.detail))
    node.addEventListener('peer:disconnect', (evt) => this.#onDisconnect(evt.detail.toString()))
    node.services.pubsub.addEventListener('gossipsub:message', (evt) => this.#onMessage(evt.detail))
    node.services.pubsub.addEventListener('subscription-change', (evt) => {
      const joined = evt.detail.subscriptions.some((s) => s.topic === MEMBERS_TOPIC && s.subscribe)
      if (joined && this.#table.nodeId(evt.detail.peerId.toString()) !== undefined) this.#scheduleAnnounce()
    })
    try {
      await node.start()
      options?.signal?.throwIfAborted()
      for (const topic of this.#handlers.keys()) this.#join(node, topic)
      node.services.pubsub.topicValidators.set(MEMBERS_TOPIC, (source, msg) =>
        this.#validateMember(source, msg),
      )
      node.services.pubsub.subscribe(MEMBERS_TOPIC)
    } catch (err) {
      await node.stop()
      throw err
    }
    this.#node = node
    void this.#announceLoop(this.#lifetime.signal)
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
    await this.#whenAdmitted(node, connection.remotePeer, options)
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
    await this.#refuse(peerId, 'revoked', 'revoked')
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
        await this.#refuse(peerId, reason, 'revoked')
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
    node.services.pubsub.topicValidators.set(topic, (source, msg) => this.#validate(source, msg))
    node.services.pubsub.subscribe(topic)
  }

  /** Topic validator: the relay and the signer must both be admitted. */
  #validate(source: PeerId, msg: Message): TopicValidatorResult {
    if (this.#table.nodeId(source.toString()) === undefined) {
      this.#counters.droppedMessages++
      return TopicValidatorResult.Reject
    }
    if (msg.type !== 'signed') {
      this.#counters.droppedMessages++
      return TopicValidatorResult.Reject
    }
    const from = msg.from.toString()
    // our own message relayed back (e.g. from before a restart): not news, not the relay's fault
    if (from === this.peerId) return TopicValidatorResult.Ignore
    if (this.#table.signer(from) === undefined) {
      // the relay may know the signer a moment before its announcement reaches us: ignore, not reject
      this.#counters.droppedMessages++
      return TopicValidatorResult.Ignore
    }
    return TopicValidatorResult.Accept
  }

  #onMessage({ msg }: GossipsubMessage): void {
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

  #onConnection(connection: Connection): void {
    const peerId = connection.remotePeer.toString()
    const entry = this.#table.track(peerId)
    this.#log.debug('connection opened', {
      peerId,
      addr: connection.remoteAddr.toString(),
      direction: connection.direction,
      state: entry.state,
    })
    void this.#prove(connection)
    void this.#enforceGrace(connection)
  }

  #onDisconnect(peerId: string): void {
    const entry = this.#table.remove(peerId)
    this.#changed()
    if (entry?.state !== 'admitted') return
    this.#log.info('peer gone', { peerId, nodeId: entry.nodeId })
    this.#emit('peer:gone', { peerId, nodeId: entry.nodeId })
  }

  /** Sends our proof on a new stream of this connection and records the remote's verdict. */
  async #prove(connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const signal = this.#ioSignal()
    let accepted = false
    try {
      const stream = await connection.newStream(ADMIT_PROTOCOL, { signal })
      accepted = await sendProof(stream, this.#init.admission.credentials(), { signal })
      if (!accepted) this.#log.warn('peer refused our proof', { peerId })
    } catch (err) {
      this.#log.debug('could not prove ourselves to peer', { peerId, error: errorMessage(err) })
    }
    const entry = this.#table.get(peerId)
    if (entry === undefined) return
    if (!accepted || entry.acceptedUs !== true) entry.acceptedUs = accepted
    this.#changed()
  }

  /** Closes the connection if its peer has not proven itself within the grace period. */
  async #enforceGrace(connection: Connection): Promise<void> {
    try {
      await this.#clock.sleep(this.#tuning.admissionGraceMs, { signal: this.#lifetime.signal })
    } catch {
      return
    }
    const peerId = connection.remotePeer.toString()
    if (connection.status !== 'open' || this.#table.nodeId(peerId) !== undefined) return
    await this.#refuse(peerId, `no proof within ${this.#tuning.admissionGraceMs} ms`, 'refused')
  }

  /** Inbound admission stream: read the remote's proof, verify it, answer. */
  async #onAdmitStream({ stream, connection }: IncomingStreamData): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const signal = this.#ioSignal()
    let exchange: Awaited<ReturnType<typeof receiveProof>>
    try {
      exchange = await receiveProof(stream, { signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (this.#lifetime.signal.aborted) return
      await this.#refuse(peerId, `unreadable proof: ${errorMessage(err)}`, 'refused')
      return
    }
    let nodeId: string | undefined
    let reason = 'proof refused'
    try {
      nodeId = (await this.#init.admission.verify(peerId, exchange.proof, { signal }))?.nodeId
    } catch (err) {
      reason = `proof refused: ${errorMessage(err)}`
    }
    if (this.#lifetime.signal.aborted) return
    if (nodeId === undefined || nodeId === '') {
      await exchange.reply(false, { signal }).catch(() => {})
      await this.#refuse(peerId, reason, this.#table.nodeId(peerId) === undefined ? 'refused' : 'revoked')
      return
    }
    // gone or banned while we verified: do not resurrect it
    if (connection.status !== 'open' || this.#table.isBanned(peerId)) return
    const addr = connection.remoteAddr.toString()
    const isNew = this.#table.admit(peerId, nodeId, exchange.proof, addr)
    // the score is cached for a heartbeat; drop it so we publish to the peer right away
    this.#node?.services.pubsub.score.scoreCache.delete(peerId)
    await exchange.reply(true, { signal }).catch((err: unknown) => {
      this.#log.debug('could not send verdict', { peerId, error: errorMessage(err) })
    })
    this.#changed()
    if (!isNew) return
    this.#scheduleAnnounce()
    this.#log.info('peer admitted', { peerId, nodeId, addr })
    this.#emit('peer:admitted', { peerId, nodeId, addr })
  }

  /** Drops a peer: bans it, forgets it, tells listeners, closes its connections. */
  async #refuse(peerId: string, reason: string, kind: 'refused' | 'revoked'): Promise<void> {
    this.#table.ban(peerId)
    this.#table.forget(peerId)
    const entry = this.#table.remove(peerId)
    this.#node?.services.pubsub.score.scoreCache.delete(peerId)
    this.#counters[kind === 'revoked' ? 'revokedPeers' : 'refusedPeers']++
    this.#log.warn(kind === 'revoked' ? 'peer revoked' : 'peer refused', { peerId, reason })
    this.#changed()
    this.#emit('peer:refused', { peerId, reason })
    if (entry?.state === 'admitted') this.#emit('peer:gone', { peerId, nodeId: entry.nodeId })
    try {
      await this.#node?.hangUp(peerIdFromString(peerId))
    } catch (err) {
      this.#log.debug('hang up failed', { peerId, error: errorMessage(err) })
    }
  }

  /** Members topic validator: an admitted relay, and a signer whose announced proof verifies. */
  async #validateMember(source: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (this.#table.nodeId(source.toString()) === undefined || msg.type !== 'signed') {
      this.#counters.droppedMessages++
      return TopicValidatorResult.Reject
    }
    const from = msg.from.toString()
    if (from === this.peerId) return TopicValidatorResult.Ignore
    const ttl = 3 * this.#tuning.announceIntervalMs
    const known = this.#table.signer(from)
    if (known !== undefined && this.#table.knowsProof(from, msg.data)) {
      this.#table.learn(from, known, msg.data, ttl)
      return TopicValidatorResult.Accept
    }
    let nodeId: string | undefined
    if (!this.#table.isBanned(from)) {
      try {
        nodeId = (await this.#init.admission.verify(from, msg.data, { signal: this.#ioSignal() }))?.nodeId
      } catch (err) {
        this.#log.debug('announced proof refused', { peerId: from, error: errorMessage(err) })
      }
    }
    if (nodeId === undefined || nodeId === '') {
      this.#counters.droppedMessages++
      return TopicValidatorResult.Reject
    }
    if (this.#table.learn(from, nodeId, msg.data.slice(), ttl)) {
      this.#log.debug('member announced', { peerId: from, nodeId, via: source.toString() })
      this.#scheduleAnnounce() // so the newcomer hears of us
    }
    return TopicValidatorResult.Accept
  }

  /** Announces our proof after a heartbeat (so a new peer's subscription has arrived); coalesces. */
  #scheduleAnnounce(): void {
    if (this.#announcePending) return
    this.#announcePending = true
    const signal = this.#lifetime.signal
    this.#clock.sleep(this.#tuning.heartbeatMs, { signal }).then(
      () => {
        this.#announcePending = false
        void this.#announce()
      },
      () => {
        this.#announcePending = false
      },
    )
  }

  async #announceLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(this.#tuning.announceIntervalMs, { signal })
      } catch {
        return
      }
      await this.#announce()
    }
  }

  async #announce(): Promise<void> {
    const pubsub = this.#node?.services.pubsub
    if (pubsub === undefined) return
    try {
      await pubsub.publish(MEMBERS_TOPIC, this.#init.admission.credentials())
    } catch (err) {
      this.#log.debug('announce failed', { error: errorMessage(err) })
    }
  }

  /** Resolves once we admitted the peer and it accepted our proof; rejects when either refuses. */
  #whenAdmitted(node: Node, peer: PeerId, options?: AbortOptions): Promise<void> {
    const peerId = peer.toString()
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const entry = this.#table.get(peerId)
        if (options?.signal?.aborted) done(options.signal.reason)
        else if (this.#table.isBanned(peerId)) done(new AdmissionRefusedError(`peer ${peerId} was refused`))
        else if (entry === undefined && node.getConnections(peer).length === 0)
          done(new AdmissionRefusedError(`peer ${peerId} disconnected before admission`))
        else if (entry?.acceptedUs === false)
          done(new AdmissionRefusedError(`peer ${peerId} did not accept our proof`))
        else if (entry?.state === 'admitted' && entry.acceptedUs === true) done()
      }
      const done = (err?: unknown): void => {
        this.#changes.removeEventListener('change', check)
        options?.signal?.removeEventListener('abort', check)
        if (err === undefined) resolve()
        else reject(err)
      }
      this.#changes.addEventListener('change', check)
      options?.signal?.addEventListener('abort', check)
      check()
    })
  }

  /** Bounds one admission exchange: the grace period, or until we stop. */
  #ioSignal(): AbortSignal {
    return AbortSignal.any([this.#lifetime.signal, AbortSignal.timeout(this.#tuning.admissionGraceMs)])
  }

  #changed(): void {
    this.#changes.dispatchEvent(new Event('change'))
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

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Creates the gossip mesh; call `start()` to listen. */
export function createGossip(components: GossipComponents, init: GossipInit): Gossip {
  return new GossipNode(components, init)
}
