import { InvalidInputError } from '@swarmnet/interface'
import type { CertificateValidity } from './index.js'

export const RENEW_FROM = 0.5
export const RENEW_UNTIL = 0.8

/**
 * When to renew: a random moment between 50 % and 80 % of the certificate's lifetime (epoch ms).
 * `random` returns values in [0, 1); out-of-range values are clamped so the result stays in the window.
 */
export function renewalTime(validity: CertificateValidity, random: () => number): number {
  const { notBefore, notAfter } = validity
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter) || notAfter <= notBefore) {
    throw new InvalidInputError('validity must have notBefore < notAfter')
  }
  const r = Math.min(Math.max(random(), 0), 1)
  const fraction = RENEW_FROM + (RENEW_UNTIL - RENEW_FROM) * (Number.isNaN(r) ? 0 : r)
  return Math.floor(notBefore + (notAfter - notBefore) * fraction)
}
