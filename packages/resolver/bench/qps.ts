// Resolver answers per second from one client: the resolver on loopback with a table of
// `services` names (as the agent's lookup answers them, from memory), one UDP client keeping
// `window` queries in flight for `secs` seconds, names drawn at random. Build first, then:
//   node packages/resolver/bench/qps.ts [services=10000] [secs=5] [window=32]
// Prints a line and one JSON line. Not a CI gate.
import dgram from 'node:dgram'
import { silentLogger } from '@swarmnet/logger'
import dnsPacket from 'dns-packet'
import { createResolver } from '../dist/index.js'

const services = Number(process.argv[2] ?? 10_000)
const secs = Number(process.argv[3] ?? 5)
const window = Number(process.argv[4] ?? 32)
const table = new Map<string, string[]>()
for (let i = 0; i < services; i++)
  table.set(`svc${i}`, [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`])
const r = createResolver(
  { logger: silentLogger },
  {
    host: '127.0.0.1',
    port: 0,
    upstreams: [],
    lookup: (_client, name) => {
      const ips = table.get(name)
      return ips === undefined ? undefined : { kind: 'a', ips }
    },
  },
)
await r.start()
const sock = dgram.createSocket('udp4')
await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))
let answered = 0
let sent = 0
let id = 0
const deadline = performance.now() + secs * 1000
const { promise: done, resolve: finish } = Promise.withResolvers<void>()
const send = (): void => {
  if (performance.now() >= deadline) {
    if (sent === answered) finish()
    return
  }
  id = (id + 1) & 0xffff
  const q = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: `svc${Math.floor(Math.random() * services)}` }],
  })
  sent++
  sock.send(q, r.port ?? 0, '127.0.0.1')
}
sock.on('message', (msg) => {
  const a = dnsPacket.decode(msg)
  if (a.answers?.length === 1) answered++
  send()
})
const t0 = performance.now()
for (let i = 0; i < window; i++) send()
await done
const elapsed = (performance.now() - t0) / 1000
sock.close()
await r.stop()
const qps = answered / elapsed
console.log(`resolver: ${qps.toFixed(0)} answers/s from one client (${services} names, ${window} in flight)`)
console.log(JSON.stringify({ bench: 'resolver-qps', services, window, answered, seconds: elapsed, qps }))
