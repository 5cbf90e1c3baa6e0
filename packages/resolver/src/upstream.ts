/**
 * Upstream resolvers: the node's own (`/etc/resolv.conf`) unless given. A query goes to each
 * upstream in turn, each with its own timeout, over UDP; an answer that comes back truncated
 * is fetched again over TCP when the client asked over TCP. Each forwarded query gets its own
 * socket (its own source port), so concurrent clients' query ids never collide upstream.
 */
import { createSocket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { isIPv4, Socket } from 'node:net'
import type { AbortOptions } from '@swarmnet/interface'

export interface Upstream {
  readonly host: string
  readonly port: number
}

/** `nameserver` lines of a resolv.conf, IPv4 only (loopback stub resolvers are kept). */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line)
    if (m?.[1] !== undefined && isIPv4(m[1])) out.push({ host: m[1], port: 53 })
  }
  return out
}

/** `IP` or `IP:PORT` → an upstream; throws on anything else. */
export function parseUpstream(text: string): Upstream {
  const [host = '', port = '53'] = text.split(':')
  const n = Number(port)
  if (!isIPv4(host) || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new TypeError(`not an upstream DNS server: ${JSON.stringify(text)} (want IPv4[:PORT])`)
  return { host, port: n }
}

export async function readResolvConf(path = '/etc/resolv.conf', options?: AbortOptions): Promise<Upstream[]> {
  try {
    return parseResolvConf(await readFile(path, { encoding: 'utf8', signal: options?.signal }))
  } catch {
    return []
  }
}

/** The first upstream answer to `query`, trying each in turn; undefined when none answers. */
export async function forward(
  query: Buffer,
  upstreams: readonly Upstream[],
  over: 'udp' | 'tcp',
  timeoutMs: number,
  options?: AbortOptions,
): Promise<Buffer | undefined> {
  for (const u of upstreams) {
    options?.signal?.throwIfAborted()
    const signal = AbortSignal.any([
      AbortSignal.timeout(timeoutMs),
      ...(options?.signal ? [options.signal] : []),
    ])
    try {
      const answer = await udpExchange(query, u, signal)
      // TC bit: byte 2, 0x02
      if (over === 'tcp' && ((answer[2] ?? 0) & 0x02) !== 0) return await tcpExchange(query, u, signal)
      return answer
    } catch {
      // try the next one
    }
  }
  return undefined
}

function udpExchange(query: Buffer, u: Upstream, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4')
    let finished = false
    const done = (err?: Error, msg?: Buffer): void => {
      if (finished) return
      finished = true
      signal.removeEventListener('abort', onAbort)
      sock.close()
      if (msg !== undefined) resolve(msg)
      else reject(err ?? new Error('no answer'))
    }
    const onAbort = (): void => done(new Error('upstream timed out'))
    signal.addEventListener('abort', onAbort, { once: true })
    sock.on('error', (err) => done(err))
    sock.on('message', (msg) => {
      // an answer to another query (wrong id) is ignored
      if (msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0)) done(undefined, msg)
    })
    sock.send(query, u.port, u.host)
  })
}

function tcpExchange(query: Buffer, u: Upstream, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = new Socket()
    let buf = Buffer.alloc(0)
    let finished = false
    const done = (err?: Error, msg?: Buffer): void => {
      if (finished) return
      finished = true
      signal.removeEventListener('abort', onAbort)
      sock.destroy()
      if (msg !== undefined) resolve(msg)
      else reject(err ?? new Error('no answer'))
    }
    const onAbort = (): void => done(new Error('upstream timed out'))
    signal.addEventListener('abort', onAbort, { once: true })
    sock.on('error', (err) => done(err))
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)))
    })
    sock.on('close', () => done(new Error('upstream closed')))
    sock.connect(u.port, u.host, () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(query.length)
      sock.write(Buffer.concat([len, query]))
    })
  })
}
