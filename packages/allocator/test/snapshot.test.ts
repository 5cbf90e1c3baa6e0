import { describe, expect, it } from 'vitest'
import { type AllocatorSnapshot, createAllocator, InvalidSnapshotError } from '../src/index.js'
import { catchErr } from './helpers.js'

function busy() {
  const a = createAllocator()
  a.allocateNetwork({ id: 'ingress', name: 'ingress' })
  a.allocateNetwork({
    id: 'n2',
    name: 'back',
    subnet: '10.0.1.0/24',
    gateway: '10.0.1.254',
    reserved: ['10.0.1.2'],
  })
  a.allocateNetwork({ id: 'n1', name: 'front', vni: 5000 })
  a.allocateEndpoint('n2', 'task-b')
  a.allocateEndpoint('n2', 'task-a')
  a.allocateVip('n2', 'svc')
  a.allocateEndpoint('ingress', 'lb-node1')
  a.allocatePorts({ id: 'svc', name: 'web' }, [
    { protocol: 'tcp', targetPort: 80 },
    { protocol: 'udp', targetPort: 53, publishedPort: 53 },
  ])
  return a
}

describe('snapshot', () => {
  it('is plain, sorted JSON that round-trips to the same state and the same next answers', () => {
    const a = busy()
    const snap = a.snapshot()
    expect(snap.networks.map((n) => n.id)).toEqual(['ingress', 'n1', 'n2'])
    expect(snap.networks[2]).toEqual({
      id: 'n2',
      name: 'back',
      vni: 4097,
      subnet: '10.0.1.0/24',
      gateway: '10.0.1.254',
      reserved: ['10.0.1.2'],
      endpoints: { 'task-a': '10.0.1.3', 'task-b': '10.0.1.1' },
      vips: { svc: '10.0.1.4' },
      last: '10.0.1.4',
    })
    expect(snap.ports).toEqual([
      {
        protocol: 'tcp',
        publishedPort: 30000,
        targetPort: 80,
        serviceId: 'svc',
        serviceName: 'web',
        dynamic: true,
      },
      {
        protocol: 'udp',
        publishedPort: 53,
        targetPort: 53,
        serviceId: 'svc',
        serviceName: 'web',
        dynamic: false,
      },
    ])
    const json = JSON.parse(JSON.stringify(snap)) as AllocatorSnapshot
    const b = createAllocator({ snapshot: json })
    expect(b.snapshot()).toEqual(snap)
    expect(JSON.stringify(b.snapshot())).toBe(JSON.stringify(snap))
    // the restored allocator continues exactly where the original would
    for (const x of [a, b]) {
      expect(x.allocateNetwork({ id: 'n3', name: 'n3' })).toMatchObject({ vni: 4098, subnet: '10.0.3.0/24' })
      expect(x.allocateEndpoint('n2', 'task-c').ip).toBe('10.0.1.5')
      expect(x.allocatePorts({ id: 'svc', name: 'web' }, [{ protocol: 'tcp', targetPort: 80 }])).toEqual([
        { protocol: 'tcp', targetPort: 80, publishedPort: 30000 },
      ])
    }
    expect(b.snapshot()).toEqual(a.snapshot())
  })

  it('does not share structure with the live state', () => {
    const a = busy()
    const snap = a.snapshot()
    snap.networks[0]?.reserved.push('10.0.0.9')
    a.allocateEndpoint('ingress', 'lb-node2')
    expect(snap.networks[0]?.endpoints).toEqual({ 'lb-node1': '10.0.0.2' })
    expect(a.network('ingress')?.reserved).toEqual([])
  })

  it('refuses an inconsistent or unknown snapshot', () => {
    const snap = busy().snapshot()
    const clash = structuredClone(snap)
    const n1 = clash.networks[1]
    if (n1 === undefined) throw new Error('fixture')
    n1.endpoints['task-z'] = '10.0.0.2'
    clash.networks[1] = { ...n1, subnet: '10.0.0.0/24' }
    const err = catchErr(() => createAllocator({ snapshot: clash }))
    expect(err).toBeInstanceOf(InvalidSnapshotError)
    expect(err.message).toBe(
      "allocator snapshot is inconsistent: subnet 10.0.0.0/24 overlaps network 'ingress' (10.0.0.0/24)",
    )
    const ports = structuredClone(snap)
    ports.ports.push({ ...snap.ports[0], serviceId: 'other' } as AllocatorSnapshot['ports'][number])
    expect(catchErr(() => createAllocator({ snapshot: ports })).code).toBe('ERR_INVALID_ALLOCATOR_SNAPSHOT')
    expect(catchErr(() => createAllocator({ snapshot: { ...snap, version: 2 as 1 } })).code).toBe(
      'ERR_INVALID_ALLOCATOR_SNAPSHOT',
    )
    expect(catchErr(() => createAllocator({ snapshot: {} as AllocatorSnapshot })).code).toBe(
      'ERR_INVALID_ALLOCATOR_SNAPSHOT',
    )
  })
})
