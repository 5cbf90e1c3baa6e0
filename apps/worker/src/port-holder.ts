/**
 * The listening sockets the agent holds on the published ports this node serves, as dockerd
 * does: the kernel's DNAT takes the packets before they reach a socket, but a held socket
 * keeps every other process off the port later (a port a host process holds already cannot be
 * served here: that is a conflict, reported to the manager, and the port is not programmed on
 * this node so the host process keeps it). TCP ports listen on 0.0.0.0 and close any
 * connection at once (only one sent to 127.0.0.1, which no DNAT takes, can arrive); UDP
 * ports bind and drop what they get.
 */
import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import type { Logger } from '@swarmnet/interface'

/** `8080/tcp`: a published port and its protocol, as the node reports its conflicts. */
export type PortKey = `${number}/${'tcp' | 'udp'}`

export const portKey = (published: number, protocol: 'tcp' | 'udp'): PortKey => `${published}/${protocol}`

type Held = { kind: 'tcp'; server: Server } | { kind: 'udp'; socket: Socket }

export class PortHolder {
  private readonly held = new Map<PortKey, Held>()
  /** Ports wanted and taken by someone else at the last try (retried at every `hold`). */
  private taken = new Set<PortKey>()

  constructor(
    private readonly logger: Logger,
    /** the address to bind (tests bind loopback) */
    private readonly host = '0.0.0.0',
  ) {}

  /**
   * Holds exactly `wanted`: binds the ports not held yet, closes the others. Returns the
   * wanted ports another process holds (not bound here).
   */
  async hold(wanted: ReadonlySet<PortKey>): Promise<ReadonlySet<PortKey>> {
    for (const [key, h] of this.held) {
      if (wanted.has(key)) continue
      this.held.delete(key)
      await close(h)
    }
    const taken = new Set<PortKey>()
    await Promise.all(
      [...wanted]
        .filter((k) => !this.held.has(k))
        .map(async (key) => {
          try {
            this.held.set(key, await bind(key, this.host))
          } catch (err) {
            taken.add(key)
            if (!this.taken.has(key))
              this.logger.warn('published port held by another process', { port: key, err })
          }
        }),
    )
    this.taken = taken
    return taken
  }

  /** The wanted ports another process holds, as of the last {@link hold}. */
  get conflicts(): ReadonlySet<PortKey> {
    return this.taken
  }

  async close(): Promise<void> {
    await this.hold(new Set())
  }
}

function bind(key: PortKey, host: string): Promise<Held> {
  const [p, proto] = key.split('/')
  const port = Number(p)
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const socket = createSocket({ type: 'udp4', reuseAddr: false })
      socket.once('error', reject)
      socket.bind({ port, address: host, exclusive: true }, () => {
        socket.off('error', reject)
        socket.on('error', () => undefined)
        resolve({ kind: 'udp', socket })
      })
      return
    }
    const server = createServer({ pauseOnConnect: true }, (c) => c.destroy())
    server.once('error', reject)
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject)
      server.on('error', () => undefined)
      resolve({ kind: 'tcp', server })
    })
  })
}

function close(h: Held): Promise<void> {
  return new Promise((resolve) => {
    if (h.kind === 'udp') h.socket.close(() => resolve())
    else h.server.close(() => resolve())
  })
}
