/**
 * The manager API's TLS listener. Client certificates are requested but not required at the
 * TLS layer, because `ca` and `join` must work before a node has one; every other route
 * checks the certificate itself (see DefaultManager.caller).
 */
import { once } from 'node:events'
import https from 'node:https'
import type { Logger } from '@swarmnet/interface'
import { SwarmnetError } from '@swarmnet/interface'
import type { Route } from '@swarmnet/wire'
import { createApiHandler, SESSION_IDLE_MS } from '@swarmnet/wire'

export class ListenError extends SwarmnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_LISTEN', options)
  }
}

export async function listenTls(
  at: { host: string; port: number },
  tls: { cert: string; key: string; ca: string },
  routes: readonly Route[],
  logger: Logger,
): Promise<https.Server> {
  const server = https.createServer(
    { ...tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    createApiHandler(routes, logger),
  )
  server.headersTimeout = 10_000
  server.requestTimeout = 15_000
  // nodes keep their session open between calls and close it after SESSION_IDLE_MS idle;
  // the manager waits longer, so a node never sends on a connection the manager just closed
  server.keepAliveTimeout = 2 * SESSION_IDLE_MS + 5_000
  try {
    server.listen(at.port, at.host)
    await once(server, 'listening')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why =
      e.code === 'EADDRINUSE'
        ? 'address already in use'
        : e.code === 'EADDRNOTAVAIL'
          ? 'address not available on this host'
          : e.message
    throw new ListenError(`cannot listen on tcp ${at.host}:${at.port}: ${why}`, { cause: err })
  }
  return server
}
