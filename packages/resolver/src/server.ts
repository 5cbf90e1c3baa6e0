/**
 * The resolver's sockets: one UDP and one TCP listener on the same address. Every message is
 * size-checked and decoded with dns-packet before anything else; what does not decode is
 * dropped and counted, never answered. Answers for cluster names come from memory (the
 * injected lookup); the rest is forwarded (upstream.ts) with a timeout, SERVFAIL when no
 * upstream answers. TCP carries length-prefixed messages, several per connection, and an idle
 * connection is closed after {@link TCP_IDLE_MS}.
 */

import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '@swarmnet/interface'
import dnsPacket, { type DecodedPacket } from 'dns-packet'
import { decide, encodeUdp, type Lookup, serverFailure, udpLimit } from './answer.js'
import { forward, type Upstream } from './upstream.js'

const TCP_IDLE_MS = 10_000
const MAX_MESSAGE = 65_535

export interface ResolverStats {
  queries: number
  answered: number
  forwarded: number
  nxdomain: number
  truncated: number
  malformed: number
  upstreamFailures: number
}

export interface ServerInit {
  host: string
  port: number
  lookup: Lookup
  upstreams: () => readonly Upstream[]
  upstreamTimeoutMs: number
  logger: Logger
}

export class DnsServer {
  readonly stats: ResolverStats = {
    queries: 0,
    answered: 0,
    forwarded: 0,
    nxdomain: 0,
    truncated: 0,
    malformed: 0,
    upstreamFailures: 0,
  }
  private udp: UdpSocket | undefined
  private tcp: Server | undefined
  private readonly conns = new Set<Socket>()
  private readonly closing = new AbortController()

  constructor(private readonly init: ServerInit) {}

  async listen(): Promise<{ port: number }> {
    const udp = createSocket('udp4')
    udp.on('message', (msg, rinfo) => {
      void this.handle(msg, rinfo.address, 'udp').then((out) => {
        if (out !== undefined) udp.send(out, rinfo.port, rinfo.address)
      })
    })
    udp.bind(this.init.port, this.init.host)
    await once(udp, 'listening')
    this.udp = udp
    const port = udp.address().port
    const tcp = createServer((c) => this.serveTcp(c))
    tcp.listen(port, this.init.host)
    await once(tcp, 'listening')
    this.tcp = tcp
    return { port }
  }

  async close(): Promise<void> {
    this.closing.abort()
    for (const c of this.conns) c.destroy()
    this.udp?.close()
    const tcp = this.tcp
    if (tcp !== undefined) await new Promise<void>((resolve) => tcp.close(() => resolve()))
    this.udp = undefined
    this.tcp = undefined
  }

  private serveTcp(c: Socket): void {
    this.conns.add(c)
    c.setTimeout(TCP_IDLE_MS, () => c.destroy())
    c.on('close', () => this.conns.delete(c))
    c.on('error', () => c.destroy())
    let buf = Buffer.alloc(0)
    c.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0)
        if (buf.length < 2 + len) break
        const msg = buf.subarray(2, 2 + len)
        buf = buf.subarray(2 + len)
        void this.handle(msg, c.remoteAddress ?? '', 'tcp').then((out) => {
          if (out === undefined || c.destroyed) return
          const head = Buffer.alloc(2)
          head.writeUInt16BE(out.length)
          c.write(Buffer.concat([head, out]))
        })
      }
    })
  }

  /** The bytes to send back for one message, or undefined (dropped). */
  private async handle(msg: Buffer, client: string, over: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let q: DecodedPacket
    try {
      if (msg.length < 12 || msg.length > MAX_MESSAGE) throw new Error('size')
      q = dnsPacket.decode(msg)
    } catch {
      this.stats.malformed++
      return undefined
    }
    this.stats.queries++
    const d = decide(q, client.replace(/^::ffff:/, ''), this.init.lookup)
    if ('respond' in d) {
      this.stats.answered++
      if ((d.respond.flags ?? 0) % 16 === 3) this.stats.nxdomain++
      if (over === 'tcp') return dnsPacket.encode(d.respond)
      const { bytes, truncated } = encodeUdp(d.respond, udpLimit(q))
      if (truncated) this.stats.truncated++
      return bytes
    }
    this.stats.forwarded++
    const answer = await forward(msg, this.init.upstreams(), over, this.init.upstreamTimeoutMs, {
      signal: this.closing.signal,
    }).catch(() => undefined)
    if (answer !== undefined) return answer
    this.stats.upstreamFailures++
    this.init.logger.debug('no upstream answered', { name: q.questions?.[0]?.name })
    return over === 'tcp' ? dnsPacket.encode(serverFailure(q)) : encodeUdp(serverFailure(q), 512).bytes
  }
}
