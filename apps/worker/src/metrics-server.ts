/**
 * The metrics endpoint: `GET /metrics` on `IP:PORT` (plain HTTP, like dockerd's
 * `--metrics-addr`; bind it to loopback or a management address). Off unless an address is given.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import { InvalidInputError } from '@swarmnet/interface'
import { parseHostPort } from '@swarmnet/ipv4'
import type { AgentMetrics } from './metrics.js'

/** `IP:PORT` → parts; the port is required. A bad value is refused with what was expected. */
export function parseMetricsAddr(text: string): { host: string; port: number } {
  const parts = text.includes(':') ? parseHostPort(text, 0) : undefined
  if (parts === undefined)
    throw new InvalidInputError(
      `invalid metrics address '${text}': expected IPv4:PORT (port 1-65535), e.g. 127.0.0.1:9323`,
    )
  return parts
}

export interface MetricsServer {
  /** Where it listens (the port the kernel chose when 0 was asked). */
  readonly address: { host: string; port: number }
  close(): Promise<void>
}

export async function serveMetrics(
  metrics: Pick<AgentMetrics, 'scrape'>,
  addr: { host: string; port: number },
  logger: Logger,
  options?: AbortOptions,
): Promise<MetricsServer> {
  options?.signal?.throwIfAborted()
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n')
      return
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: unknown) => {
        logger.warn('metrics scrape failed', { err })
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n')
      },
    )
  })
  server.listen(addr.port, addr.host)
  try {
    await once(server, 'listening', options)
  } catch (err) {
    server.close()
    const code = (err as NodeJS.ErrnoException).code
    throw new InvalidInputError(
      `cannot serve metrics on ${addr.host}:${addr.port}: ${code ?? (err as Error).message}`,
      { cause: err },
    )
  }
  const bound = server.address()
  const port = typeof bound === 'object' && bound !== null ? bound.port : addr.port
  logger.info('metrics listening', { addr: `${addr.host}:${port}` })
  return {
    address: { host: addr.host, port },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
