import { ConflictError, InvalidInputError } from '@swarmnet/interface'
import { describe, expect, it } from 'vitest'
import { createAllocator, DuplicatePortError, PortExhaustedError, PortInUseError } from '../src/index.js'
import { catchErr } from './helpers.js'

const web = { id: 's-web', name: 'web' }
const api = { id: 's-api', name: 'api' }

describe('published ports', () => {
  it('picks the lowest free dynamic port per protocol and keeps given ones', () => {
    const a = createAllocator()
    expect(
      a.allocatePorts(web, [
        { protocol: 'tcp', targetPort: 80 },
        { protocol: 'udp', targetPort: 53, publishedPort: 0 },
        { protocol: 'tcp', targetPort: 443, publishedPort: 8443 },
      ]),
    ).toEqual([
      { protocol: 'tcp', targetPort: 80, publishedPort: 30000 },
      { protocol: 'udp', targetPort: 53, publishedPort: 30000 },
      { protocol: 'tcp', targetPort: 443, publishedPort: 8443 },
    ])
    expect(a.allocatePorts(api, [{ protocol: 'tcp', targetPort: 80 }])[0]?.publishedPort).toBe(30001)
  })

  it('does not hand a later explicit port of the same request to a dynamic one', () => {
    const a = createAllocator()
    expect(
      a.allocatePorts(web, [
        { protocol: 'tcp', targetPort: 80 },
        { protocol: 'tcp', targetPort: 81, publishedPort: 30000 },
      ]),
    ).toEqual([
      { protocol: 'tcp', targetPort: 80, publishedPort: 30001 },
      { protocol: 'tcp', targetPort: 81, publishedPort: 30000 },
    ])
  })

  it('keeps a dynamic port stable across updates and frees dropped ports', () => {
    const a = createAllocator()
    a.allocatePorts(api, [{ protocol: 'tcp', targetPort: 9000 }])
    a.allocatePorts(web, [{ protocol: 'tcp', targetPort: 80 }])
    a.releasePorts(api.id)
    const updated = a.allocatePorts(web, [
      { protocol: 'tcp', targetPort: 8080 },
      { protocol: 'tcp', targetPort: 80 },
    ])
    expect(updated).toEqual([
      { protocol: 'tcp', targetPort: 8080, publishedPort: 30000 },
      { protocol: 'tcp', targetPort: 80, publishedPort: 30001 },
    ])
    a.allocatePorts(web, [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080 }])
    expect(a.allocatePorts(api, [{ protocol: 'tcp', targetPort: 1 }])[0]?.publishedPort).toBe(30000)
    expect(a.releasePorts(web.id)).toBe(true)
    expect(a.releasePorts(web.id)).toBe(false)
    expect(a.allocatePorts(api, [{ protocol: 'tcp', targetPort: 2, publishedPort: 8080 }])).toHaveLength(1)
  })

  it('refuses a port published by another service, all-or-nothing', () => {
    const a = createAllocator()
    a.allocatePorts(web, [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080 }])
    const before = a.snapshot()
    const err = catchErr(() =>
      a.allocatePorts(api, [
        { protocol: 'tcp', targetPort: 1 },
        { protocol: 'tcp', targetPort: 80, publishedPort: 8080 },
      ]),
    )
    expect(err).toBeInstanceOf(PortInUseError)
    expect(err).toBeInstanceOf(ConflictError)
    expect(err.message).toBe("port 8080/tcp is already published by service 'web' (s-web)")
    expect(a.snapshot()).toEqual(before)
    // same number, other protocol
    expect(a.allocatePorts(api, [{ protocol: 'udp', targetPort: 80, publishedPort: 8080 }])).toHaveLength(1)
  })

  it('rejects duplicates and out-of-range values', () => {
    const a = createAllocator()
    const dup = catchErr(() =>
      a.allocatePorts(web, [
        { protocol: 'tcp', targetPort: 80, publishedPort: 8080 },
        { protocol: 'tcp', targetPort: 81, publishedPort: 8080 },
      ]),
    )
    expect(dup).toBeInstanceOf(DuplicatePortError)
    expect(dup.message).toBe('port 8080/tcp is published twice; publish each port once')
    for (const bad of [
      { protocol: 'tcp' as const, targetPort: 0 },
      { protocol: 'tcp' as const, targetPort: 80, publishedPort: 65536 },
      { protocol: 'tcp' as const, targetPort: 80, publishedPort: 1.5 },
      { protocol: 'sctp' as 'tcp', targetPort: 80 },
    ]) {
      const err = catchErr(() => a.allocatePorts(web, [bad]))
      expect(err).toBeInstanceOf(InvalidInputError)
      expect(err.code).toBe('ERR_INVALID_ALLOCATION_REQUEST')
    }
    expect(
      a.allocatePorts(web, [{ protocol: 'udp', targetPort: 1, publishedPort: 1 }])[0]?.publishedPort,
    ).toBe(1)
    expect(
      a.allocatePorts(web, [{ protocol: 'udp', targetPort: 1, publishedPort: 65535 }])[0]?.publishedPort,
    ).toBe(65535)
  })

  it('runs out of dynamic ports with a named error', () => {
    const a = createAllocator()
    const many = Array.from({ length: 2768 }, (_, i) => ({ protocol: 'udp' as const, targetPort: 1 + i }))
    expect(a.allocatePorts(web, many).at(-1)?.publishedPort).toBe(32767)
    const err = catchErr(() => a.allocatePorts(api, [{ protocol: 'udp', targetPort: 1 }]))
    expect(err).toBeInstanceOf(PortExhaustedError)
    expect(err.message).toBe(
      'no free udp port left in 30000-32767; publish an explicit port or remove a service',
    )
    expect(a.allocatePorts(api, [{ protocol: 'tcp', targetPort: 1 }])[0]?.publishedPort).toBe(30000)
  })
})
