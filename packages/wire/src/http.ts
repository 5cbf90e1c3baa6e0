/**
 * JSON over HTTP for both control APIs. The server side validates every body against the
 * endpoint's request schema after a size check; the client validates every answer against
 * the response schema. Errors travel as `{ error: { code, message } }` and come back out of
 * the client as a {@link RemoteError} carrying the same code.
 */
import type http from 'node:http'
import type https from 'node:https'
import { createRequire } from 'node:module'
import type { TLSSocket } from 'node:tls'
import type { AbortOptions, Logger } from '@swarmnet/interface'
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  NotSupportedError,
  SwarmnetError,
} from '@swarmnet/interface'
import type { z } from 'zod'
import type { Endpoint } from './endpoint.js'
import { limits } from './limits.js'
import { plainError, plainIssue } from './plain.js'

/**
 * node:http and node:https through require: an ESM `import` of them builds a namespace of
 * every export and so runs their lazy getters (WebSocket → undici), which costs a CLI call
 * ~50 ms and a process ~10 MB for nothing.
 */
const require = createRequire(import.meta.url)
const lazyHttp = (): typeof http => require('node:http') as typeof http
const lazyHttps = (): typeof https => require('node:https') as typeof https

/** An error answered by the remote side, with its stable code. */
export class RemoteError extends SwarmnetError {
  readonly status: number
  constructor(message: string, code: string, status: number) {
    super(message, code)
    this.status = status
  }
}

/** The remote could not be reached at all (refused, timed out, reset). */
export class UnreachableError extends SwarmnetError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_UNREACHABLE', options)
  }
}

export interface RequestContext {
  /** Set on TLS servers: the client's socket, to read its certificate. */
  readonly tls?: TLSSocket
}

export interface Route {
  readonly endpoint: Endpoint
  handle(body: unknown, ctx: RequestContext): Promise<unknown>
}

/** A typed route: the handler sees the parsed request and must return the response type. */
export function route<Req extends z.ZodType, Res extends z.ZodType>(
  ep: Endpoint<Req, Res>,
  handle: (body: z.infer<Req>, ctx: RequestContext) => Promise<z.input<Res>>,
): Route {
  return { endpoint: ep, handle: (body, ctx) => handle(body as z.infer<Req>, ctx) }
}

const statusOfCode: Record<string, number> = { ERR_UNAUTHORIZED: 401, ERR_FORBIDDEN: 403 }

function statusOf(err: unknown): number {
  if (err instanceof InvalidInputError) return 400
  if (err instanceof NotFoundError) return 404
  if (err instanceof ConflictError) return 409
  if (err instanceof NotSupportedError) return 501
  if (err instanceof SwarmnetError)
    return statusOfCode[err.code] ?? (err.code === 'ERR_INVALID_INPUT' ? 400 : 500)
  return 500
}

/** A request listener serving `routes`; unknown paths answer 404. */
export function createApiHandler(
  routes: readonly Route[],
  logger: Logger,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const table = new Map(routes.map((r) => [`${r.endpoint.method} ${r.endpoint.path}`, r]))
  return (req, res) => {
    const send = (status: number, value: unknown): void => {
      const body = JSON.stringify(value)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }
    const fail = (err: unknown): void => {
      const code = err instanceof SwarmnetError ? err.code : 'ERR_INTERNAL'
      const status = statusOf(err)
      if (status === 500) logger.error('request failed', { path: req.url, err })
      send(status, { error: { code, message: err instanceof Error ? err.message : String(err) } })
    }
    const r = table.get(`${req.method} ${(req.url ?? '').split('?')[0]}`)
    if (r === undefined) {
      send(404, { error: { code: 'ERR_NOT_FOUND', message: `no such endpoint ${req.method} ${req.url}` } })
      return
    }
    readBody(req, limits.apiBody)
      .then(async (raw) => {
        const parsed = r.endpoint.request.safeParse(raw.length === 0 ? {} : JSON.parse(raw), {
          error: plainIssue,
        })
        if (!parsed.success) throw new InvalidBodyError(parsed.error)
        const ctx: RequestContext = 'encrypted' in req.socket ? { tls: req.socket as TLSSocket } : {}
        send(200, await r.handle(parsed.data, ctx))
      })
      .catch(fail)
  }
}

/** A body the schema refuses, in plain words (never zod's own text). */
class InvalidBodyError extends SwarmnetError {
  constructor(error: z.ZodError) {
    super(`invalid request: ${plainError(error)}`, 'ERR_INVALID_INPUT')
  }
}

function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) {
        reject(new SwarmnetError(`request body over ${max} bytes`, 'ERR_INVALID_INPUT'))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Error codes of a failed TLS handshake: OpenSSL verify results, Node's and our identity checks. */
const TLS_FAILURE = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_/

/** Where a client call goes: the local unix socket or a manager over HTTPS. */
export type ApiTarget =
  | { readonly socketPath: string }
  | {
      readonly host: string
      readonly port: number
      readonly tls: https.RequestOptions
      /** A session kept open between calls ({@link createSessionAgent}); none: one connection per call. */
      readonly agent?: https.Agent
    }

/** How long a kept-open session may sit idle before this side closes it. */
export const SESSION_IDLE_MS = 30_000

/**
 * Keeps the TLS session to one manager open between calls (keep-alive, most recent socket
 * first), so a node's heartbeats and syncs ride one connection and its certificate is checked
 * once, when the session opens; a few sockets, so one slow call never holds back a heartbeat.
 * The manager keeps idle sessions longer than {@link SESSION_IDLE_MS}: the node closes first.
 */
export function createSessionAgent(tls: https.AgentOptions): https.Agent {
  return new (lazyHttps().Agent)({
    ...tls,
    keepAlive: true,
    maxSockets: 4,
    maxFreeSockets: 4,
    scheduling: 'lifo',
    timeout: SESSION_IDLE_MS,
  })
}

export interface CallOptions extends AbortOptions {
  /** @default 10_000 */
  timeoutMs?: number
}

/** Calls one endpoint and returns its validated answer. */
export async function callApi<Req extends z.ZodType, Res extends z.ZodType>(
  target: ApiTarget,
  ep: Endpoint<Req, Res>,
  body: z.input<Req>,
  options: CallOptions = {},
): Promise<z.infer<Res>> {
  const payload = ep.method === 'GET' ? '' : JSON.stringify(body)
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const where = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const common = {
      method: ep.method,
      path: ep.path,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      signal,
    }
    const req =
      'socketPath' in target
        ? lazyHttp().request({ ...common, agent: false, socketPath: target.socketPath })
        : lazyHttps().request({
            ...common,
            ...(target.agent !== undefined ? { agent: target.agent } : { ...target.tls, agent: false }),
            host: target.host,
            port: target.port,
          })
    req.on('response', (res) => {
      readBody(res, limits.apiBody)
        .then((text) => resolve({ status: res.statusCode ?? 0, text }))
        .catch(reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = timeout.aborted ? 'timed out' : (err.code ?? err.message)
      if (options.signal?.aborted) reject(options.signal.reason)
      else if (TLS_FAILURE.test(err.code ?? ''))
        reject(new SwarmnetError(`TLS with ${where} failed: ${err.message}`, 'ERR_TLS', { cause: err }))
      else reject(new UnreachableError(`cannot reach ${where}: ${why}`, { cause: err }))
    })
    req.end(payload)
  })
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new SwarmnetError(`${where} answered ${status} with a body that is not JSON`, 'ERR_PROTOCOL')
  }
  if (status !== 200) {
    const e = (value as { error?: { code?: string; message?: string } }).error
    throw new RemoteError(e?.message ?? `HTTP ${status}`, e?.code ?? 'ERR_REMOTE', status)
  }
  const parsed = ep.response.safeParse(value)
  if (!parsed.success)
    throw new SwarmnetError(`${where} answered with an invalid ${ep.path} response`, 'ERR_PROTOCOL')
  return parsed.data
}
