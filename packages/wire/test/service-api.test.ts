import { describe, expect, it } from 'vitest'
import {
  assignment,
  dispatcherApi,
  managerApi,
  netdbService,
  serviceCreateRequest,
  serviceUpdateRequest,
  serviceView,
} from '../src/index.js'

describe('service requests', () => {
  it('create keeps placement, resources, health and the update configs (a merge once dropped placement)', () => {
    const req = serviceCreateRequest.parse({
      name: 'web',
      argv: ['x'],
      placement: { constraints: ['node.hostname==a'] },
      resources: { limits: { memoryBytes: 67_108_864 } },
      health: { cmd: 'true', intervalMs: 1000 },
      update: { parallelism: 2 },
    })
    expect(req).toMatchObject({
      placement: { constraints: ['node.hostname==a'] },
      resources: { limits: { memoryBytes: 67_108_864 } },
      health: { cmd: 'true', intervalMs: 1000 },
      update: { parallelism: 2 },
    })
  })

  it('update is strict: an unknown field is refused, not dropped', () => {
    expect(serviceUpdateRequest.safeParse({ ref: 'web', publishAdd: ['80:80'] }).success).toBe(false)
    expect(serviceUpdateRequest.parse({ ref: 'web', health: null, placement: {} })).toEqual({
      ref: 'web',
      health: null,
      placement: {},
    })
  })
})

describe('published ports (since 0.6)', () => {
  const web = { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' } as const

  it('create takes ports, a published port optional', () => {
    const { publishedPort: _, ...noPublished } = web
    const req = serviceCreateRequest.parse({ name: 'web', argv: ['x'], ports: [web, noPublished] })
    expect(req.ports).toEqual([web, noPublished])
  })

  it.each([
    ['port 0', { ...web, targetPort: 0 }],
    ['port 65536', { ...web, publishedPort: 65536 }],
    ['an unknown protocol', { ...web, protocol: 'sctp' }],
    ['an unknown mode', { ...web, publishMode: 'bridge' }],
    ['an unknown field', { ...web, hostIp: '0.0.0.0' }],
    ['no target', { protocol: 'tcp', publishMode: 'ingress' }],
  ])('create refuses %s', (_, port) => {
    expect(serviceCreateRequest.safeParse({ name: 'web', argv: ['x'], ports: [port] }).success).toBe(false)
  })

  it('create refuses more than 16 ports', () => {
    const ports = Array.from({ length: 17 }, (_, i) => ({ ...web, publishedPort: 8000 + i }))
    expect(serviceCreateRequest.safeParse({ name: 'web', argv: ['x'], ports }).success).toBe(false)
  })

  it('update takes publishAdd and publishRm, the protocol optional in publishRm', () => {
    const req = serviceUpdateRequest.parse({
      ref: 'web',
      publishAdd: [web],
      publishRm: [{ publishedPort: 8080 }, { publishedPort: 53, protocol: 'udp' }],
    })
    expect(req.publishRm).toEqual([{ publishedPort: 8080 }, { publishedPort: 53, protocol: 'udp' }])
    expect(serviceUpdateRequest.safeParse({ ref: 'web', publishRm: [{ publishedPort: 0 }] }).success).toBe(
      false,
    )
  })

  it('a service view without ports (an older manager) has none', () => {
    const view = serviceView.parse({
      id: 'a',
      name: 'web',
      mode: 'replicated',
      replicas: '1/1',
      desired: 1,
      argv: ['x'],
      env: {},
      networks: [],
      restartCondition: 'any',
      createdAt: '',
      updatedAt: '',
    })
    expect(view.ports).toEqual([])
  })

  it('the sync answer carries the ingress network and the node lb; a bad lb is refused', () => {
    const network = {
      id: 'n1',
      name: 'ingress',
      vni: 4097,
      subnet: '10.255.0.0/16',
      gateway: '10.255.0.1',
      ingress: true,
    }
    const res = { assignments: [], wantLogs: [], ingress: { network, lb: '10.255.0.2' } }
    expect(dispatcherApi.sync.response.parse(res).ingress?.network.ingress).toBe(true)
    expect(dispatcherApi.sync.response.safeParse({ ...res, ingress: { network, lb: 'x' } }).success).toBe(
      false,
    )
    expect(
      dispatcherApi.sync.response.safeParse({
        ...res,
        ingress: { network: { ...network, ingress: false }, lb: '10.255.0.2' },
      }).success,
    ).toBe(false)
  })

  it('an assignment carries its service ports, filled in', () => {
    const a = {
      id: 't',
      serviceId: 's',
      serviceName: 'web',
      slot: 1,
      desiredState: 'running',
      argv: ['x'],
      env: {},
      attachments: [],
    }
    expect(assignment.parse({ ...a, ports: [web] }).ports).toEqual([web])
    const { publishedPort: _, ...noPublished } = web
    expect(assignment.safeParse({ ...a, ports: [noPublished] }).success).toBe(false)
  })

  it('heartbeat port conflicts are PORT/PROTO', () => {
    const hb = { hostname: 'a', advertiseAddr: '10.0.0.1', gossipAddrs: [] }
    expect(
      managerApi.heartbeat.request.parse({ ...hb, portConflicts: ['7070/tcp', '53/udp'] }).portConflicts,
    ).toEqual(['7070/tcp', '53/udp'])
    for (const bad of ['7070', '7070/sctp', 'x/tcp', '123456/tcp'])
      expect(managerApi.heartbeat.request.safeParse({ ...hb, portConflicts: [bad] }).success).toBe(false)
  })

  it('the netdb service record carries [published, target, protocol]', () => {
    const svc = { id: 'abc', name: 'web', vip: true, ports: [[8080, 80, 'tcp']] }
    expect(netdbService.parse(svc).ports).toEqual([[8080, 80, 'tcp']])
    expect(netdbService.safeParse({ ...svc, ports: [[8080, 80, 'icmp']] }).success).toBe(false)
    expect(netdbService.safeParse({ ...svc, ports: [[0, 80, 'tcp']] }).success).toBe(false)
  })
})
