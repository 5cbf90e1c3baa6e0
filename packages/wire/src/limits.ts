/**
 * Named upper bounds for everything read from a socket. A message over its limit is refused
 * before it is parsed. Values are generous for their content and small for a flood.
 */
export const limits = {
  /** request/response bodies of the control APIs (node lists for a few hundred nodes fit) */
  apiBody: 1024 * 1024,
  /** a PEM certificate, CSR or CA */
  pem: 16 * 1024,
  /** hostnames, per RFC 1123 */
  hostname: 253,
} as const

// The control APIs are versioned in every path (`/v1/...`); a new version adds paths, never changes these.
