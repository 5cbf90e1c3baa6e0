/**
 * Certificate-based admission to the gossip mesh.
 *
 * Design note. libp2p's noise handshake already proves that the remote holds the private key of
 * its peer id; it does not prove that the peer belongs to the cluster. So on every new connection,
 * in both directions, each side opens one `/swarmnet/admit/1.0.0` stream and sends its proof (the
 * app passes its node certificate PEM, which binds the node id to the peer id); the other side
 * hands that proof to {@link Admission.verify} together with the noise-authenticated peer id and
 * answers with a verdict. Peer id proven by noise + certificate bound to that peer id and valid =
 * admitted. Until a peer is admitted, and forever if it is refused:
 *
 * - its gossip is rejected by the topic validators (both the propagation source and the signed
 *   `from` must be admitted) and counted as dropped;
 * - its gossipsub score is negative, so we do not publish, gossip or graft to it (it learns nothing);
 * - its connection is closed after a grace period if it has not proven, or at once if its proof
 *   is refused; it is then banned for a while, and the connection gater turns its redials away.
 *
 * A message may be relayed: its signer need not be connected to us. So every node also announces
 * its proof, signed, on the internal {@link MEMBERS_TOPIC} (when a peer joins, when it learns of a
 * new member, and every `announceIntervalMs`); receivers verify it like a direct proof and record
 * the signer as a member for 3 intervals. A message is accepted only if its relay is admitted and
 * its signer is admitted or an announced member; an unknown signer's message is dropped.
 *
 * The proofs are kept, so after a certificate revocation `reverify()` re-runs verification for
 * every known member and disconnects the connected ones that no longer pass.
 *
 * Wire format (length-prefixed frames, unsigned varint length, at most {@link MAX_FRAME_BYTES}):
 * `[version=1][kind][payload]`, kind 1 = proof (payload: the proof bytes, at most
 * {@link MAX_PROOF_BYTES}), kind 2 = verdict (payload: one byte, 0 admitted, 1 refused).
 * Only append kinds; a new layout takes a new version byte and a new protocol id.
 */
import type { Stream } from '@libp2p/interface'
import { type AbortOptions, InvalidInputError } from '@swarmnet/interface'
import { lpStream } from 'it-length-prefixed-stream'

/** How the app proves this node and judges others. Keeps certificates out of the gossip package. */
export interface Admission {
  /** Our proof: the bytes sent to every peer (the app passes its node certificate PEM). */
  credentials(): Uint8Array
  /**
   * Verifies a remote peer's proof for that (noise-authenticated) peer id. Resolve to the admitted
   * node's id, or throw / resolve `undefined` to refuse.
   */
  verify(peerId: string, proof: Uint8Array, options?: AbortOptions): Promise<{ nodeId: string } | undefined>
}

/** The admission protocol id. */
export const ADMIT_PROTOCOL = '/swarmnet/admit/1.0.0'
/** The internal topic on which members announce their proofs. */
export const MEMBERS_TOPIC = '/swarmnet/members/1.0.0'
/** Largest proof we send or accept (a PEM chain fits several times over). */
export const MAX_PROOF_BYTES = 16 * 1024
const VERSION = 1
const HEADER_BYTES = 2
/** Largest frame on the admission stream. */
export const MAX_FRAME_BYTES = MAX_PROOF_BYTES + HEADER_BYTES

// ONLY APPEND to these.
const KIND_PROOF = 1
const KIND_VERDICT = 2
const VERDICT_ADMITTED = 0
const VERDICT_REFUSED = 1

function encode(kind: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES + payload.length)
  frame[0] = VERSION
  frame[1] = kind
  frame.set(payload, HEADER_BYTES)
  return frame
}

function decode(frame: Uint8Array, kind: number): Uint8Array {
  if (frame[0] !== VERSION) throw new InvalidInputError(`unsupported admission version ${frame[0]}`)
  if (frame[1] !== kind) throw new InvalidInputError(`expected admission frame kind ${kind}, got ${frame[1]}`)
  return frame.subarray(HEADER_BYTES)
}

/** Prover side: sends our proof on a fresh outbound stream; resolves whether the remote admitted us. */
export async function sendProof(stream: Stream, proof: Uint8Array, options: AbortOptions): Promise<boolean> {
  if (proof.length > MAX_PROOF_BYTES) {
    throw new InvalidInputError(`admission proof is ${proof.length} bytes, the limit is ${MAX_PROOF_BYTES}`)
  }
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  await lp.write(encode(KIND_PROOF, proof), options)
  const verdict = decode((await lp.read(options)).subarray(), KIND_VERDICT)
  await stream.close(options)
  return verdict.length === 1 && verdict[0] === VERDICT_ADMITTED
}

/** Verifier side: reads the remote's proof from an inbound stream; `reply` sends the verdict and closes. */
export async function receiveProof(
  stream: Stream,
  options: AbortOptions,
): Promise<{ proof: Uint8Array; reply(admitted: boolean, options: AbortOptions): Promise<void> }> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  const proof = decode((await lp.read(options)).subarray(), KIND_PROOF).slice()
  return {
    proof,
    async reply(admitted, replyOptions) {
      const verdict = Uint8Array.of(admitted ? VERDICT_ADMITTED : VERDICT_REFUSED)
      await lp.write(encode(KIND_VERDICT, verdict), replyOptions)
      await stream.close(replyOptions)
    },
  }
}
