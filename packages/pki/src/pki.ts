import { randomBytes } from 'node:crypto'
import * as ca from './ca.js'
import { createNodeCsr } from './csr.js'
import type { Pki, PkiComponents, PkiInit } from './index.js'
import { MIN_RSA_BITS } from './keys.js'
import { renewalTime } from './renewal.js'
import * as token from './token.js'
import { managerIdentityCheck, verifyNodeCertificate } from './verify.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

export const defaults = {
  caCommonName: 'swarmnet-ca',
  caValidityMs: 7300 * DAY,
  nodeCertValidityMs: 90 * DAY,
  backdateMs: HOUR,
  keyBits: MIN_RSA_BITS,
} as const

// 48 random bits as a float in [0, 1).
const cryptoRandom = (): number => randomBytes(6).readUIntBE(0, 6) / 2 ** 48

export function createPkiImpl(components: PkiComponents, init: PkiInit = {}): Pki {
  const { clock } = components
  const random = components.random ?? cryptoRandom
  const keyBits = init.keyBits ?? defaults.keyBits
  const backdateMs = init.backdateMs ?? defaults.backdateMs
  const nodeCertValidityMs = init.nodeCertValidityMs ?? defaults.nodeCertValidityMs

  return {
    createCa: (options) =>
      ca.createCa({
        clusterId: options.clusterId,
        commonName: options.commonName ?? defaults.caCommonName,
        validityMs: options.validityMs ?? init.caValidityMs ?? defaults.caValidityMs,
        backdateMs,
        keyBits,
        now: clock.now(),
      }),
    createNodeCsr: (options) => createNodeCsr(options.nodeId, options.peerId, keyBits),
    issueNodeCertificate: (authority, options) =>
      ca.issueNodeCertificate(authority, {
        ...options,
        validityMs: options.validityMs ?? nodeCertValidityMs,
        backdateMs,
        now: clock.now(),
      }),
    verifyNodeCertificate: (cert, options) =>
      verifyNodeCertificate(cert, { ...options, now: options.now ?? clock.now() }),
    managerIdentityCheck: (clusterId, options) => managerIdentityCheck(clusterId, options?.isRevoked),
    renewalTime: (validity) => renewalTime(validity, random),
    caDigest: token.caDigest,
    generateTokenSecret: token.generateTokenSecret,
    createJoinToken: token.createJoinToken,
    parseJoinToken: token.parseJoinToken,
    caMatchesToken: token.caMatchesToken,
    secretsEqual: token.secretsEqual,
  }
}
