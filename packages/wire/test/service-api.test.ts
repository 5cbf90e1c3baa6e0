import { describe, expect, it } from 'vitest'
import { serviceCreateRequest, serviceUpdateRequest } from '../src/index.js'

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
