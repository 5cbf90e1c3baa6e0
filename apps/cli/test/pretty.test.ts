import { describe, expect, it } from 'vitest'
import { prettyNode, prettyService } from '../src/pretty.js'
import { node, service } from './fixtures.js'

describe('inspect --pretty', () => {
  it("a service shows Docker's Ports section, one block per port", () => {
    const text = prettyService(
      service({
        ports: [
          { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' },
          { protocol: 'udp', targetPort: 53, publishedPort: 5353, publishMode: 'host' },
        ],
      }),
    )
    expect(text).toMatch(/^Name: +web$/m)
    expect(text.split('\n').slice(-9)).toEqual([
      'Ports:',
      ' PublishedPort = 8080',
      '  Protocol = tcp',
      '  TargetPort = 80',
      '  PublishMode = ingress',
      ' PublishedPort = 5353',
      '  Protocol = udp',
      '  TargetPort = 53',
      '  PublishMode = host',
    ])
  })

  it('a service without ports has no Ports section', () => {
    expect(prettyService(service({}))).not.toContain('Ports')
  })

  it('a node shows its port conflicts, and no line when it has none', () => {
    expect(prettyNode(node({ portConflicts: ['7070/tcp', '53/udp'] }))).toMatch(
      /^Port Conflicts: +7070\/tcp, 53\/udp$/m,
    )
    expect(prettyNode(node({}))).not.toContain('Port Conflicts')
    expect(prettyNode(node({}))).toMatch(/^ State: +Ready$/m)
  })
})
