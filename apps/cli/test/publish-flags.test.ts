import { formatPort } from '@swarmnet/orchestrator'
import type { PublishedPort } from '@swarmnet/wire'
import { describe, expect, it } from 'vitest'
import { parsePublish, parsePublishRm, portsColumn, publishParser } from '../src/commands/publish-flags.js'
import { usage } from './fixtures.js'

const ingress = (
  publishedPort: number,
  targetPort: number,
  protocol: 'tcp' | 'udp' = 'tcp',
): PublishedPort => ({
  protocol,
  targetPort,
  publishedPort,
  publishMode: 'ingress',
})

describe('--publish', () => {
  it("takes Docker's short forms", () => {
    expect(parsePublish('8080:80')).toEqual({
      protocol: 'tcp',
      targetPort: 80,
      publishedPort: 8080,
      publishMode: 'ingress',
    })
    expect(parsePublish('53:5353/udp')).toEqual(ingress(53, 5353, 'udp'))
    expect(parsePublish('80')).toEqual({ protocol: 'tcp', targetPort: 80, publishMode: 'ingress' })
    expect(parsePublish('80/tcp')).toEqual({ protocol: 'tcp', targetPort: 80, publishMode: 'ingress' })
  })

  it("takes Docker's long form, in any order, with defaults", () => {
    expect(parsePublish('published=8080,target=80,protocol=udp,mode=host')).toEqual({
      ...ingress(8080, 80, 'udp'),
      publishMode: 'host',
    })
    expect(parsePublish('mode=ingress,target=80')).toEqual({
      protocol: 'tcp',
      targetPort: 80,
      publishMode: 'ingress',
    })
  })

  it.each([
    ['0', /target port 0 is not in 1-65535/],
    ['65536', /target port 65536 is not in 1-65535/],
    ['8080:0', /target port 0/],
    ['0:80', /published port 0/],
    ['abc', /target port must be a port number/],
    ['80:', /target port must be a port number/],
    [':80', /published port must be a port number/],
    ['', /target port must be a port number/],
    ['1:2:3', /expected \[PUBLISHED:\]TARGET\[\/PROTOCOL\]/],
    ['80/sctp', /unknown protocol 'sctp'/],
    ['80/', /unknown protocol ''/],
    ['8080-8081:80', /published port must be a port number/],
    ['published=8080', /target port must be a port number/],
    ['target=80,protocol=icmp', /unknown protocol 'icmp'/],
    ['target=80,mode=bridge', /unknown mode 'bridge'/],
    ['target=80,colour=red', /unknown field 'colour'/],
    ['target=80,host', /unknown field 'host'/],
    ['target=80,target=81', /target is given twice/],
    ['target=80,published=99999', /published port 99999/],
    ['target=80,mode=host', /mode=host needs a published port/],
  ])('refuses %j (usage error)', (spec, why) => {
    expect(usage(() => parsePublish(spec))).toMatch(why)
  })
})

describe('--publish-add / --publish-rm', () => {
  it('patches publishAdd and publishRm; nothing when not given', () => {
    expect(publishParser.parse({ publishAdd: ['9090:8080'], publishRm: ['8080', '53/udp'] })).toEqual({
      publishAdd: [{ protocol: 'tcp', targetPort: 8080, publishedPort: 9090, publishMode: 'ingress' }],
      publishRm: [{ publishedPort: 8080 }, { publishedPort: 53, protocol: 'udp' }],
    })
    expect(publishParser.parse({ publishAdd: [], publishRm: [] })).toEqual({})
  })

  it.each([['0'], ['abc'], ['8080/sctp'], ['8080:80'], ['']])('--publish-rm refuses %j', (spec) => {
    expect(usage(() => parsePublishRm(spec))).toMatch(/invalid --publish-rm/)
  })

  it('--publish-add names itself in its errors', () => {
    expect(usage(() => publishParser.parse({ publishAdd: ['80:'], publishRm: [] }))).toMatch(
      /--publish-add '80:'/,
    )
  })
})

describe("service ls PORTS (Docker's column)", () => {
  it('ingress ports only, by protocol then port, joined by ", "', () => {
    const host: PublishedPort = { ...ingress(7070, 70), publishMode: 'host' }
    expect(portsColumn({ ports: [ingress(9090, 90, 'udp'), host, ingress(8080, 80)] })).toBe(
      '*:8080->80/tcp, *:9090->90/udp',
    )
    expect(portsColumn({ ports: [host] })).toBe('')
    expect(portsColumn({ ports: [] })).toBe('')
  })

  it('folds consecutive ports into ranges as Docker does', () => {
    expect(portsColumn({ ports: [ingress(8081, 81), ingress(8080, 80), ingress(8082, 82)] })).toBe(
      '*:8080-8082->80-82/tcp',
    )
    expect(portsColumn({ ports: [ingress(8080, 80), ingress(8081, 80)] })).toBe('*:8080-8081->80/tcp')
    expect(portsColumn({ ports: [ingress(8080, 80), ingress(8081, 90)] })).toBe(
      '*:8080->80/tcp, *:8081->90/tcp',
    )
    expect(portsColumn({ ports: [ingress(8080, 80), ingress(8081, 81, 'udp')] })).toBe(
      '*:8080->80/tcp, *:8081->81/udp',
    )
  })

  it('inspect prints a port as Docker does', () => {
    expect(formatPort(ingress(8080, 80))).toBe('*:8080->80/tcp')
    expect(formatPort({ ...ingress(8080, 80), publishMode: 'host' })).toBe('8080->80/tcp')
  })
})
