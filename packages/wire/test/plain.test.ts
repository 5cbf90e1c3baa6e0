import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { localApi, serviceApi } from '../src/index.js'
import { plainError, plainIssue } from '../src/plain.js'

const ZOD_WORDING = /Too small|Too big|expected string|expected number|Invalid input|Invalid option|received/

function problem(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value, { error: plainIssue })
  if (r.success) throw new Error('parsed')
  return plainError(r.error)
}

describe('validation problems in plain words', () => {
  const s = z.object({
    name: z.string().min(1).max(5),
    n: z.number().int().min(0).max(9),
    list: z.array(z.string()).max(1),
    kind: z.enum(['a', 'b', 'c']),
    own: z.string().regex(/^x/, 'must start with x'),
  })
  const ok = { name: 'n', n: 1, list: [], kind: 'a', own: 'x' }

  it.each([
    [{ ...ok, name: '' }, 'name: must not be empty'],
    [{ ...ok, name: 'toolong' }, 'name: must have at most 5 characters'],
    [{ ...ok, n: -1 }, 'n: must be at least 0'],
    [{ ...ok, n: 10 }, 'n: must be at most 9'],
    [{ ...ok, n: 1.5 }, 'n: must be a whole number'],
    [{ ...ok, n: 'x' }, 'n: must be a number'],
    [{ ...ok, list: ['a', 'b'] }, 'list: must have at most 1 item'],
    [{ ...ok, kind: 'd' }, 'kind: must be a, b or c'],
    [{ ...ok, own: 'y' }, 'own: must start with x'],
    [{ n: 1, list: [], kind: 'a', own: 'x' }, 'name: is required'],
  ])('%j → %s', (value, want) => {
    const got = problem(s, value)
    expect(got).toBe(want)
    expect(got).not.toMatch(ZOD_WORDING)
  })

  it('the API requests people get wrong most', () => {
    expect(problem(localApi.networkCreate.request, { name: '' })).not.toMatch(ZOD_WORDING)
    expect(problem(serviceApi.scale.request, { ref: 'web', replicas: 'x' })).toBe(
      'replicas: must be a number',
    )
    expect(problem(z.object({}).strict(), { extra: 1 })).toBe('request: has unknown fields: extra')
  })
})
