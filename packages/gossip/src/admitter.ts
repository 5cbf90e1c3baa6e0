import type { GossipSub } from '@chainsafe/libp2p-gossipsub'
import type { Identify } from '@libp2p/identify'
import {
  type Connection,
  type IncomingStreamData,
  type Libp2p,
  type Message,
  type PeerId,
  TopicValidatorResult,
} from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AbortOptions, Clock, Logger } from '@swarmnet/interface'
import { ADMIT_PROTOCOL, type Admission, MEMBERS_TOPIC, receiveProof, sendProof } from './admission.js'
import { AdmissionRefusedError } from './errors.js'
import type { PeerTable } from './peers.js'
import type { GossipTuning } from './preset.js'
import type { GossipEvents } from './types.js'

/** The libp2p node the mesh runs on. */
export type Node = Libp2p<{ identify: Identify; pubsub: GossipSub }>

/** Counters the admission flow and the gater keep (see `GossipStats`). */
export interface AdmissionCounters {
  refusedPeers: number
  revokedPeers: number
  droppedMessages: number
  droppedUnadmittedRelay: number
  droppedUnsigned: number
  droppedUnknownSigner: number
  droppedBadAnnouncement: number
  deniedConnections: number
  messagesOut: number
  bytesOut: number
}

/** Counts a dropped message under its reason and in the total. */
function drop(
  counters: AdmissionCounters,
  reason: 'droppedUnadmittedRelay' | 'droppedUnsigned' | 'droppedUnknownSigner' | 'droppedBadAnnouncement',
): void {
  counters.droppedMessages++
  counters[reason]++
}

export interface AdmitterComponents {
  log: Logger
  clock: Clock
  tuning: GossipTuning
  admission: Admission
  table: PeerTable
  counters: AdmissionCounters
  /** Our own peer id: our messages relayed back are ignored. */
  peerId: string
  /** The running node, if any. */
  node(): Node | undefined
  /** Aborted when the mesh stops. */
  lifetime(): AbortSignal
  emit<E extends keyof GossipEvents>(event: E, arg: Parameters<GossipEvents[E]>[0]): void
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * Who is heard: the admission exchange on every connection (both directions), the grace
 * period, refusals and bans, the signed member announcements that let a relayed message's
 * signer be trusted, and the topic validators that apply all of it (see `admission.ts`).
 */
export class Admitter {
  readonly #c: AdmitterComponents
  /** Fires whenever a peer's admission state changes; `whenAdmitted` waits on it. */
  readonly #changes = new EventTarget()
  #announcePending = false

  constructor(components: AdmitterComponents) {
    this.#c = components
  }

  onConnection(connection: Connection): void {
    const peerId = connection.remotePeer.toString()
    const entry = this.#c.table.track(peerId)
    this.#c.log.debug('connection opened', {
      peerId,
      addr: connection.remoteAddr.toString(),
      direction: connection.direction,
      state: entry.state,
    })
    void this.#prove(connection)
    void this.#enforceGrace(connection)
  }

  onDisconnect(peerId: string): void {
    const entry = this.#c.table.remove(peerId)
    this.#changed()
    if (entry?.state !== 'admitted') return
    this.#c.log.info('peer gone', { peerId, nodeId: entry.nodeId })
    this.#c.emit('peer:gone', { peerId, nodeId: entry.nodeId })
  }

  /** Sends our proof on a new stream of this connection and records the remote's verdict. */
  async #prove(connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const signal = this.#ioSignal()
    let accepted = false
    try {
      const stream = await connection.newStream(ADMIT_PROTOCOL, { signal })
      accepted = await sendProof(stream, this.#c.admission.credentials(), { signal })
      if (!accepted) this.#c.log.warn('peer refused our proof', { peerId })
    } catch (err) {
      this.#c.log.debug('could not prove ourselves to peer', { peerId, error: errorMessage(err) })
    }
    const entry = this.#c.table.get(peerId)
    if (entry === undefined) return
    if (!accepted || entry.acceptedUs !== true) entry.acceptedUs = accepted
    this.#changed()
  }

  /** Closes the connection if its peer has not proven itself within the grace period. */
  async #enforceGrace(connection: Connection): Promise<void> {
    const { clock, tuning, table } = this.#c
    try {
      await clock.sleep(tuning.admissionGraceMs, { signal: this.#c.lifetime() })
    } catch {
      return
    }
    const peerId = connection.remotePeer.toString()
    if (connection.status !== 'open' || table.nodeId(peerId) !== undefined) return
    await this.refuse(peerId, `no proof within ${tuning.admissionGraceMs} ms`, 'refused')
  }

  /** Inbound admission stream: read the remote's proof, verify it, answer. */
  async onAdmitStream({ stream, connection }: IncomingStreamData): Promise<void> {
    const { table, log } = this.#c
    const peerId = connection.remotePeer.toString()
    const signal = this.#ioSignal()
    let exchange: Awaited<ReturnType<typeof receiveProof>>
    try {
      exchange = await receiveProof(stream, { signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (this.#c.lifetime().aborted) return
      await this.refuse(peerId, `unreadable proof: ${errorMessage(err)}`, 'refused')
      return
    }
    let nodeId: string | undefined
    let reason = 'proof refused'
    try {
      nodeId = (await this.#c.admission.verify(peerId, exchange.proof, { signal }))?.nodeId
    } catch (err) {
      reason = `proof refused: ${errorMessage(err)}`
    }
    if (this.#c.lifetime().aborted) return
    if (nodeId === undefined || nodeId === '') {
      await exchange.reply(false, { signal }).catch(() => {})
      await this.refuse(peerId, reason, table.nodeId(peerId) === undefined ? 'refused' : 'revoked')
      return
    }
    // gone or banned while we verified: do not resurrect it
    if (connection.status !== 'open' || table.isBanned(peerId)) return
    const addr = connection.remoteAddr.toString()
    const isNew = table.admit(peerId, nodeId, exchange.proof, addr)
    // the score is cached for a heartbeat; drop it so we publish to the peer right away
    this.#c.node()?.services.pubsub.score.scoreCache.delete(peerId)
    await exchange.reply(true, { signal }).catch((err: unknown) => {
      log.debug('could not send verdict', { peerId, error: errorMessage(err) })
    })
    this.#changed()
    if (!isNew) return
    this.scheduleAnnounce()
    log.info('peer admitted', { peerId, nodeId, addr })
    this.#c.emit('peer:admitted', { peerId, nodeId, addr })
  }

  /** Drops a peer: bans it, forgets it, tells listeners, closes its connections. */
  async refuse(peerId: string, reason: string, kind: 'refused' | 'revoked'): Promise<void> {
    const { table, log, counters } = this.#c
    table.ban(peerId)
    table.forget(peerId)
    const entry = table.remove(peerId)
    const node = this.#c.node()
    node?.services.pubsub.score.scoreCache.delete(peerId)
    counters[kind === 'revoked' ? 'revokedPeers' : 'refusedPeers']++
    log.warn(kind === 'revoked' ? 'peer revoked' : 'peer refused', { peerId, reason })
    this.#changed()
    this.#c.emit('peer:refused', { peerId, reason })
    if (entry?.state === 'admitted') this.#c.emit('peer:gone', { peerId, nodeId: entry.nodeId })
    try {
      await node?.hangUp(peerIdFromString(peerId))
    } catch (err) {
      log.debug('hang up failed', { peerId, error: errorMessage(err) })
    }
  }

  /** Topic validator: the relay and the signer must both be admitted. */
  validate(source: PeerId, msg: Message): TopicValidatorResult {
    const { table, counters } = this.#c
    if (table.nodeId(source.toString()) === undefined) {
      drop(counters, 'droppedUnadmittedRelay')
      return TopicValidatorResult.Reject
    }
    if (msg.type !== 'signed') {
      drop(counters, 'droppedUnsigned')
      return TopicValidatorResult.Reject
    }
    const from = msg.from.toString()
    // our own message relayed back (e.g. from before a restart): not news, not the relay's fault
    if (from === this.#c.peerId) return TopicValidatorResult.Ignore
    if (table.signer(from) === undefined) {
      // the relay may know the signer a moment before its announcement reaches us: ignore, not reject
      drop(counters, 'droppedUnknownSigner')
      return TopicValidatorResult.Ignore
    }
    return TopicValidatorResult.Accept
  }

  /** Members topic validator: an admitted relay, and a signer whose announced proof verifies. */
  async validateMember(source: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const { table, counters, tuning, log } = this.#c
    if (table.nodeId(source.toString()) === undefined || msg.type !== 'signed') {
      drop(counters, msg.type === 'signed' ? 'droppedUnadmittedRelay' : 'droppedUnsigned')
      return TopicValidatorResult.Reject
    }
    const from = msg.from.toString()
    if (from === this.#c.peerId) return TopicValidatorResult.Ignore
    const ttl = 3 * tuning.announceIntervalMs
    const known = table.signer(from)
    if (known !== undefined && table.knowsProof(from, msg.data)) {
      table.learn(from, known, msg.data, ttl)
      return TopicValidatorResult.Accept
    }
    let nodeId: string | undefined
    if (!table.isBanned(from)) {
      try {
        nodeId = (await this.#c.admission.verify(from, msg.data, { signal: this.#ioSignal() }))?.nodeId
      } catch (err) {
        log.debug('announced proof refused', { peerId: from, error: errorMessage(err) })
      }
    }
    if (nodeId === undefined || nodeId === '') {
      drop(counters, 'droppedBadAnnouncement')
      return TopicValidatorResult.Reject
    }
    if (table.learn(from, nodeId, msg.data.slice(), ttl)) {
      log.debug('member announced', { peerId: from, nodeId, via: source.toString() })
      this.scheduleAnnounce() // so the newcomer hears of us
    }
    return TopicValidatorResult.Accept
  }

  /** Announces our proof after a heartbeat (so a new peer's subscription has arrived); coalesces. */
  scheduleAnnounce(): void {
    if (this.#announcePending) return
    this.#announcePending = true
    const signal = this.#c.lifetime()
    this.#c.clock.sleep(this.#c.tuning.heartbeatMs, { signal }).then(
      () => {
        this.#announcePending = false
        void this.#announce()
      },
      () => {
        this.#announcePending = false
      },
    )
  }

  async announceLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#c.clock.sleep(this.#c.tuning.announceIntervalMs, { signal })
      } catch {
        return
      }
      await this.#announce()
    }
  }

  async #announce(): Promise<void> {
    const pubsub = this.#c.node()?.services.pubsub
    if (pubsub === undefined) return
    try {
      const proof = this.#c.admission.credentials()
      await pubsub.publish(MEMBERS_TOPIC, proof)
      this.#c.counters.messagesOut++
      this.#c.counters.bytesOut += proof.length
    } catch (err) {
      this.#c.log.debug('announce failed', { error: errorMessage(err) })
    }
  }

  /** Resolves once we admitted the peer and it accepted our proof; rejects when either refuses. */
  whenAdmitted(node: Node, peer: PeerId, options?: AbortOptions): Promise<void> {
    const table = this.#c.table
    const peerId = peer.toString()
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const entry = table.get(peerId)
        if (options?.signal?.aborted) done(options.signal.reason)
        else if (table.isBanned(peerId)) done(new AdmissionRefusedError(`peer ${peerId} was refused`))
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
    return AbortSignal.any([this.#c.lifetime(), AbortSignal.timeout(this.#c.tuning.admissionGraceMs)])
  }

  #changed(): void {
    this.#changes.dispatchEvent(new Event('change'))
  }
}
