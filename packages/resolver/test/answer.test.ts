import dnsPacket, { type DecodedPacket } from 'dns-packet'
import { describe, expect, it } from 'vitest'
import { decide, encodeUdp, type Lookup, udpLimit } from '../src/answer.js'

const query = (
  name: string,
  type: 'A' | 'AAAA' = 'A',
  extra: Partial<dnsPacket.Packet> = {},
): DecodedPacket =>
  dnsPacket.decode(
    dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name, class: 'IN' }],
      ...extra,
    }),
  )

/** web (VIP 10.0.1.2) and tasks.web are visible from 10.0.1.9 only; db exists but elsewhere. */
const lookup: Lookup = (client, name) => {
  if (name === 'db') return { kind: 'nxdomain' }
  if (client !== '10.0.1.9') return name === 'web' ? { kind: 'nxdomain' } : undefined
  if (name === 'web') return { kind: 'a', ips: ['10.0.1.2'] }
  if (name === 'tasks.web')
    return { kind: 'a', ips: Array.from({ length: 40 }, (_, i) => `10.0.1.${10 + i}`) }
  return undefined
}

const rcode = (flags: number | undefined) => (flags ?? 0) & 15

describe('resolver decisions', () => {
  it('answers a visible cluster name with A records, same id and question, AA and RA', () => {
    const d = decide(query('Web.'), '10.0.1.9', lookup)
    if (!('respond' in d)) throw new Error('expected an answer')
    expect(d.respond.id).toBe(7)
    expect(d.respond.answers?.map((a) => ('data' in a ? a.data : ''))).toEqual(['10.0.1.2'])
    expect(rcode(d.respond.flags)).toBe(0)
    expect((d.respond.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy()
    expect((d.respond.flags ?? 0) & dnsPacket.RECURSION_DESIRED).toBeTruthy()
  })

  it('NXDOMAIN for a cluster name the task may not see; forwards other names', () => {
    const d = decide(query('db'), '10.0.1.9', lookup)
    expect('respond' in d && rcode(d.respond.flags)).toBe(3)
    const w = decide(query('web'), '10.0.7.7', lookup)
    expect('respond' in w && rcode(w.respond.flags)).toBe(3)
    expect(decide(query('example.org'), '10.0.1.9', lookup)).toEqual({ forward: true })
  })

  it('NOERROR without answers for other record types of a cluster name', () => {
    const d = decide(query('web', 'AAAA'), '10.0.1.9', lookup)
    if (!('respond' in d)) throw new Error('expected an answer')
    expect(rcode(d.respond.flags)).toBe(0)
    expect(d.respond.answers).toEqual([])
  })

  it('FORMERR for a query without a question', () => {
    const none = dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 1, questions: [] }))
    const d = decide(none, '10.0.1.9', lookup)
    expect('respond' in d && rcode(d.respond.flags)).toBe(1)
  })

  it('truncates over UDP past 512 bytes (tasks.web of 40), or past the EDNS size', () => {
    const q = query('tasks.web')
    const d = decide(q, '10.0.1.9', lookup)
    if (!('respond' in d)) throw new Error('expected an answer')
    expect(udpLimit(q)).toBe(512)
    const udp = encodeUdp(d.respond, udpLimit(q))
    expect(udp.truncated).toBe(true)
    const back = dnsPacket.decode(udp.bytes)
    expect(back.flag_tc).toBe(true)
    expect(back.answers).toEqual([])
    const edns = query('tasks.web', 'A', {
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
    })
    expect(udpLimit(edns)).toBe(1232)
    const big = encodeUdp(d.respond, udpLimit(edns))
    expect(big.truncated).toBe(false)
    expect(dnsPacket.decode(big.bytes).answers).toHaveLength(40)
  })
})
