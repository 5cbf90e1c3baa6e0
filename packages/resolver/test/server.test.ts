/** The resolver's sockets on loopback, with a fake upstream resolver on another loopback port. */
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { Socket } from 'node:net'
import { silentLogger } from '@swarmnet/logger'
import dnsPacket from 'dns-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { createResolver, parseResolvConf, type Resolver } from '../src/index.js'

const tasks = Array.from({ length: 40 }, (_, i) => `10.0.1.${10 + i}`)
const lookup = (_client: string, name: string) =>
  name === 'tasks.web' ? { kind: 'a' as const, ips: tasks } : undefined

async function fakeUpstream(answer: string) {
  const sock = createSocket('udp4')
  sock.on('message', (msg, r) => {
    const q = dnsPacket.decode(msg)
    const name = q.questions?.[0]?.name ?? ''
    sock.send(
      dnsPacket.encode({
        type: 'response',
        id: q.id ?? 0,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions ?? [],
        answers: [{ type: 'A', name, ttl: 60, class: 'IN', data: answer }],
      }),
      r.port,
      r.address,
    )
  })
  sock.bind(0, '127.0.0.1')
  await once(sock, 'listening')
  return sock
}

async function udpAsk(port: number, name: string) {
  const sock = createSocket('udp4')
  const q = dnsPacket.encode({ type: 'query', id: 42, questions: [{ type: 'A', name, class: 'IN' }] })
  sock.send(q, port, '127.0.0.1')
  const [msg] = (await once(sock, 'message', { signal: AbortSignal.timeout(3_000) })) as [Buffer]
  sock.close()
  return dnsPacket.decode(msg)
}

async function tcpAsk(port: number, name: string) {
  const c = new Socket()
  c.connect(port, '127.0.0.1')
  await once(c, 'connect')
  c.write(dnsPacket.streamEncode({ type: 'query', id: 43, questions: [{ type: 'A', name, class: 'IN' }] }))
  let buf = Buffer.alloc(0)
  for await (const chunk of c) {
    buf = Buffer.concat([buf, chunk as Buffer])
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) break
  }
  c.destroy()
  return dnsPacket.streamDecode(buf)
}

describe('resolver sockets', () => {
  let r: Resolver | undefined
  const closers: Array<() => void> = []
  afterEach(async () => {
    await r?.stop()
    r = undefined
    for (const c of closers.splice(0)) c()
  })

  it('answers cluster names, truncates over UDP, answers in full over TCP, forwards the rest', async () => {
    const up = await fakeUpstream('198.51.100.7')
    closers.push(() => up.close())
    r = createResolver(
      { logger: silentLogger },
      { host: '127.0.0.1', port: 0, lookup, upstreams: [`127.0.0.1:${up.address().port}`] },
    )
    await r.start()
    const port = r.port as number

    const udp = await udpAsk(port, 'tasks.web')
    expect(udp.flag_tc).toBe(true)
    const tcp = await tcpAsk(port, 'tasks.web')
    expect(tcp.answers?.map((a) => ('data' in a ? a.data : '')).sort()).toEqual([...tasks].sort())

    const ext = await udpAsk(port, 'example.org')
    expect(ext.id).toBe(42)
    expect(ext.answers?.map((a) => ('data' in a ? a.data : ''))).toEqual(['198.51.100.7'])
    expect(r.stats()).toMatchObject({ queries: 3, answered: 2, forwarded: 1, truncated: 1, malformed: 0 })
  })

  it('drops and counts garbage; SERVFAIL when no upstream answers within its timeout', async () => {
    const silent = createSocket('udp4')
    silent.bind(0, '127.0.0.1')
    await once(silent, 'listening')
    closers.push(() => silent.close())
    r = createResolver(
      { logger: silentLogger },
      {
        host: '127.0.0.1',
        port: 0,
        lookup,
        upstreams: [`127.0.0.1:${silent.address().port}`],
        upstreamTimeoutMs: 300,
      },
    )
    await r.start()
    const port = r.port as number
    const garbage = createSocket('udp4')
    garbage.send(Buffer.from('this is not dns at all'), port, '127.0.0.1')
    const failed = await udpAsk(port, 'example.org')
    garbage.close()
    expect((failed.flags ?? 0) & 15).toBe(2) // SERVFAIL
    expect(r.stats()).toMatchObject({ malformed: 1, upstreamFailures: 1 })
  })

  it('reads upstreams from resolv.conf lines', () => {
    const conf = '# x\nnameserver 192.0.2.53\nnameserver ::1\nsearch lan\nnameserver 127.0.0.53\n'
    expect(parseResolvConf(conf)).toEqual([
      { host: '192.0.2.53', port: 53 },
      { host: '127.0.0.53', port: 53 },
    ])
  })
})
