/**
 * `swarmnet whoami [--port N]`: a built-in HTTP workload for trying services and the
 * routing mesh (like traefik/whoami). `GET /` answers which task, service and node served
 * the request and the task's addresses; plain text by default, JSON with
 * `Accept: application/json`. One log line per request on stdout; SIGTERM/SIGINT stop it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { hostname, networkInterfaces } from 'node:os'
import type { Command } from 'commander'
import { CliError } from '../errors.js'

export interface WhoamiAddress {
  interface: string
  ip: string
}

export interface WhoamiInfo {
  task: string
  service: string
  /** The node the task runs on (SWARMNET_NODE_HOSTNAME, else this host name). */
  node: string
  /** The host name the process sees (the task's UTS namespace). */
  hostname: string
  addresses: WhoamiAddress[]
  /** The address the request came from, as the task sees it (since 0.6). */
  remoteAddr?: string
}

/** Parses `--port`: an integer 1–65535 written in decimal, or a CliError with exit code 2. */
export function parsePort(text: string): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new CliError(`invalid --port ${JSON.stringify(text)}: expected an integer from 1 to 65535`, 2)
  return port
}

/** Every non-loopback IPv4 address of this process's network namespace, by interface. */
export function taskAddresses(
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): WhoamiAddress[] {
  const out: WhoamiAddress[] = []
  for (const [name, addrs] of Object.entries(interfaces)) {
    for (const a of addrs ?? [])
      if (a.family === 'IPv4' && !a.internal) out.push({ interface: name, ip: a.address })
  }
  return out
}

export function whoamiInfo(env: NodeJS.ProcessEnv = process.env, remoteAddr?: string): WhoamiInfo {
  const own = hostname()
  return {
    task: env.SWARMNET_TASK_ID ?? '',
    service: env.SWARMNET_SERVICE_NAME ?? '',
    node: env.SWARMNET_NODE_HOSTNAME || own,
    hostname: own,
    addresses: taskAddresses(),
    ...(remoteAddr !== undefined ? { remoteAddr } : {}),
  }
}

export function whoamiText(info: WhoamiInfo): string {
  const lines = [
    `Task: ${info.task}`,
    `Service: ${info.service}`,
    `Node: ${info.node}`,
    `Hostname: ${info.hostname}`,
    ...info.addresses.map((a) => `IP: ${a.interface} ${a.ip}`),
    ...(info.remoteAddr !== undefined ? [`RemoteAddr: ${info.remoteAddr}`] : []),
  ]
  return `${lines.join('\n')}\n`
}

/** Largest body `/bytes/N` serves. */
const MAX_BODY_BYTES = 64 * 1024 * 1024

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '')
    .split(',')
    .some((t) => t.trim().split(';')[0]?.trim() === 'application/json')
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]
  let status: number
  let type = 'text/plain; charset=utf-8'
  let body: string
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    status = 405
    res.setHeader('Allow', 'GET, HEAD')
    body = 'method not allowed\n'
  } else if (/^\/bytes\/[0-9]{1,8}$/.test(path ?? '')) {
    // a body of N bytes (at most 64 MiB), for MTU and throughput checks across an overlay
    const n = Number(path?.slice('/bytes/'.length))
    if (n > MAX_BODY_BYTES) {
      status = 400
      body = `at most ${MAX_BODY_BYTES} bytes\n`
    } else {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n })
      res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(n, 0x61))
      return
    }
  } else if (path !== '/') {
    status = 404
    body = 'not found\n'
  } else {
    status = 200
    // an IPv4 client of the dual-stack socket shows as ::ffff:a.b.c.d
    const info = whoamiInfo(process.env, req.socket.remoteAddress?.replace(/^::ffff:/, ''))
    if (wantsJson(req)) {
      type = 'application/json'
      body = `${JSON.stringify(info)}\n`
    } else body = whoamiText(info)
  }
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
  res.end(req.method === 'HEAD' ? undefined : body)
  console.log(
    `${new Date().toISOString()} ${req.socket.remoteAddress ?? '-'} "${req.method} ${req.url}" ${status} ${wantsJson(req) ? 'json' : 'text'}`,
  )
}

/** With `--udp-port`: each datagram is answered with the task id (a UDP check of the routing mesh). */
async function serveUdp(port: number): Promise<{ close(): void }> {
  const { createSocket } = createRequire(import.meta.url)('node:dgram') as typeof import('node:dgram')
  const socket = createSocket('udp4')
  socket.on('message', (_msg, from) => {
    socket.send(`${process.env.SWARMNET_TASK_ID ?? hostname()}\n`, from.port, from.address)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(`cannot listen on UDP port ${port}: ${err.code ?? err.message}`)),
    )
    socket.bind(port, () => resolve())
  })
  console.log(`whoami answering UDP on :${port}`)
  return { close: () => socket.close() }
}

/** Serves until SIGTERM or SIGINT, then closes every connection and resolves. */
export async function serveWhoami(port: number, udpPort?: number): Promise<void> {
  // require, not import: an ESM import of node:http runs its lazy getters (WebSocket loads
  // undici), ~10 MB of RSS in every task for nothing
  const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http')
  const server = createServer(handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(`cannot listen on port ${port}: ${err.code ?? err.message}`)),
    )
    server.listen(port, () => resolve())
  })
  console.log(`whoami listening on :${port}`)
  const udp = udpPort === undefined ? undefined : await serveUdp(udpPort)
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      console.log(`whoami: ${signal}, shutting down`)
      udp?.close()
      server.close(() => resolve())
      server.closeAllConnections()
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}

export function registerWhoami(program: Command): void {
  program
    .command('whoami')
    .description('Serve a tiny HTTP page naming the task, service, node and addresses (a test workload)')
    .option('--port <port>', 'TCP port to listen on (1-65535)', '80')
    .option('--udp-port <port>', 'also answer each UDP datagram on this port with the task id')
    .action(async (opts: { port: string; udpPort?: string }) => {
      await serveWhoami(
        parsePort(opts.port),
        opts.udpPort === undefined ? undefined : parsePort(opts.udpPort),
      )
    })
}
