import { ConflictError, InvalidInputError } from '@swarmnet/interface'
import { describe, expect, it } from 'vitest'
import {
  createOrchestrator,
  DEFAULT_UPDATE_CONFIG,
  InvalidReplicasError,
  InvalidRestartPolicyError,
  InvalidServiceNameError,
  InvalidServiceSpecError,
  NotReplicatedError,
  ServiceExistsError,
  type ServiceSpecInput,
} from '../src/index.js'
import { catchErr, global, replicated, T0 } from './helpers.js'

const orch = createOrchestrator()
const ok: ServiceSpecInput = { name: 'web', argv: ['nginx', '-g', 'daemon off;'] }
const codeOf = (input: Partial<ServiceSpecInput> & Record<string, unknown>): string =>
  catchErr(() => orch.validateService({ ...ok, ...input } as ServiceSpecInput)).code

describe('validateService', () => {
  it("fills in swarmkit's defaults", () => {
    expect(orch.validateService(ok)).toEqual({
      name: 'web',
      mode: { replicated: { replicas: 1 } },
      spec: { argv: ['nginx', '-g', 'daemon off;'], env: {}, networks: [], endpointMode: 'vip' },
      restart: { condition: 'any', delayMs: 5000, maxAttempts: 0 },
      update: DEFAULT_UPDATE_CONFIG,
      rollback: DEFAULT_UPDATE_CONFIG,
    })
    expect(createOrchestrator({ defaultRestartDelayMs: 100 }).validateService(ok).restart.delayMs).toBe(100)
    expect(
      orch.validateService({
        ...ok,
        mode: { global: {} },
        env: { A_1: 'x', 'b.c': '' },
        networks: ['n1', 'n2'],
        restart: { condition: 'on-failure', delayMs: 0, maxAttempts: 3 },
      }),
    ).toMatchObject({
      mode: { global: {} },
      spec: { env: { A_1: 'x', 'b.c': '' }, networks: ['n1', 'n2'] },
      restart: { condition: 'on-failure', delayMs: 0, maxAttempts: 3 },
    })
  })

  it('names are DNS labels (swarmkit): letters, digits, inner "-", at most 63', () => {
    for (const name of ['', '-web', 'web-', '.web', 'a_b', 'a.b', 'web app', 'wéb', 'a/b', 'x'.repeat(64)]) {
      expect(codeOf({ name })).toBe('ERR_INVALID_SERVICE_NAME')
    }
    expect(orch.validateService({ ...ok, name: `A1-b-${'x'.repeat(58)}` }).name).toHaveLength(63)
    const err = catchErr(() => orch.validateService({ ...ok, name: '-x' }))
    expect(err).toBeInstanceOf(InvalidServiceNameError)
    expect(err).toBeInstanceOf(InvalidInputError)
  })

  it('endpoint mode: vip (default) or dnsrr', () => {
    expect(orch.validateService({ ...ok, endpointMode: 'dnsrr' }).spec.endpointMode).toBe('dnsrr')
    expect(codeOf({ endpointMode: 'rr' as 'vip' })).toBe('ERR_INVALID_SERVICE_SPEC')
  })

  it('replicas: integer from 0 to the max', () => {
    for (const replicas of [-1, 1.5, Number.NaN, 10_001, '3' as unknown as number]) {
      expect(codeOf({ mode: { replicated: { replicas } } })).toBe('ERR_INVALID_REPLICAS')
    }
    expect(orch.validateService({ ...ok, mode: { replicated: { replicas: 0 } } }).mode).toEqual({
      replicated: { replicas: 0 },
    })
    expect(
      catchErr(() =>
        createOrchestrator({ maxReplicas: 5 }).validateService({
          ...ok,
          mode: { replicated: { replicas: 6 } },
        }),
      ),
    ).toBeInstanceOf(InvalidReplicasError)
  })

  it('argv, env, networks and mode', () => {
    expect(codeOf({ argv: [] })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ argv: [''] })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ argv: ['a\0b'] })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ env: { '1A': 'x' } })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ env: { 'A=B': 'x' } })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ env: { A: 1 as unknown as string } })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ networks: ['n1', 'n1'] })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(codeOf({ mode: { job: {} } as never })).toBe('ERR_INVALID_SERVICE_SPEC')
    expect(catchErr(() => orch.validateService({ ...ok, argv: [] }))).toBeInstanceOf(InvalidServiceSpecError)
  })

  it('restart policy', () => {
    expect(codeOf({ restart: { condition: 'always' as never } })).toBe('ERR_INVALID_RESTART_POLICY')
    expect(codeOf({ restart: { delayMs: -1 } })).toBe('ERR_INVALID_RESTART_POLICY')
    expect(codeOf({ restart: { maxAttempts: 0.5 } })).toBe('ERR_INVALID_RESTART_POLICY')
    expect(catchErr(() => orch.validateService({ ...ok, restart: { delayMs: -1 } }))).toBeInstanceOf(
      InvalidRestartPolicyError,
    )
  })

  it('name clash is a ConflictError, except with itself', () => {
    const existing = [{ ...replicated('s1', 1), name: 'web' }]
    const err = catchErr(() => orch.validateService(ok, existing))
    expect(err).toBeInstanceOf(ServiceExistsError)
    expect(err).toBeInstanceOf(ConflictError)
    expect(orch.validateService(ok, existing, 's1').name).toBe('web')
  })
})

describe('scaleService', () => {
  it('sets replicas and bumps the version', () => {
    expect(orch.scaleService(replicated('s1', 1), 4, T0 + 5)).toMatchObject({
      mode: { replicated: { replicas: 4 } },
      version: 2,
      updatedAt: T0 + 5,
    })
    expect(catchErr(() => orch.scaleService(replicated('s1', 1), -2, T0))).toBeInstanceOf(
      InvalidReplicasError,
    )
  })

  it('is refused for global services', () => {
    expect(catchErr(() => orch.scaleService(global('g'), 2, T0))).toBeInstanceOf(NotReplicatedError)
  })
})

describe('createOrchestrator', () => {
  it('rejects bad tuning', () => {
    expect(() => createOrchestrator({ historyLimit: -1 })).toThrow(RangeError)
    expect(createOrchestrator().options).toEqual({
      historyLimit: 5,
      defaultRestartDelayMs: 5000,
      maxReplicas: 10_000,
    })
  })
})
