// A tiny authoritative DNS server for the lab's `ext` host (the simulated internet): answers
// A queries for the names given as NAME=IP arguments, NXDOMAIN for others, over UDP on :53.
// Usage: node fake-dns.mjs ADDRESS NAME=IP...
import dgram from 'node:dgram'
import dnsPacket from 'dns-packet'

const [address, ...pairs] = process.argv.slice(2)
const names = new Map(pairs.map((p) => p.split('=')))
const socket = dgram.createSocket('udp4')
socket.on('message', (msg, rinfo) => {
  let q
  try {
    q = dnsPacket.decode(msg)
  } catch {
    return
  }
  const question = q.questions?.[0]
  const ip = question && question.type === 'A' ? names.get(question.name.toLowerCase()) : undefined
  const known = question !== undefined && names.has(question.name.toLowerCase())
  const answer = dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: q.questions,
    answers: ip ? [{ type: 'A', name: question.name, ttl: 60, data: ip }] : [],
  })
  socket.send(answer, rinfo.port, rinfo.address)
})
socket.bind(53, address, () => process.stdout.write('fake dns ready\n'))
