import { describe, expect, it } from 'vitest'
import { NODE_FILTERS, parseLabels } from '../src/commands/node.js'
import {
  applyPlacementUpdate,
  parseBytes,
  parseCpus,
  placementFromFlags,
} from '../src/commands/placement-flags.js'
import { node, usage } from './fixtures.js'

const MiB = 1024 ** 2

describe('placement and resource flags on create', () => {
  it('turns the flags into the spec fields', () => {
    expect(
      placementFromFlags({
        constraint: ['node.labels.zone==a', 'node.role!=manager'],
        placementPref: ['spread=node.labels.zone'],
        replicasMaxPerNode: '1',
        limitCpu: '0.2',
        limitMemory: '64M',
        reserveMemory: '1g',
      }),
    ).toEqual({
      placement: {
        constraints: ['node.labels.zone==a', 'node.role!=manager'],
        preferences: [{ spread: 'node.labels.zone' }],
        maxReplicasPerNode: 1,
      },
      resources: {
        limits: { nanoCpus: 2e8, memoryBytes: 64 * MiB },
        reservations: { memoryBytes: 1024 * MiB },
      },
    })
    expect(placementFromFlags({ constraint: [], placementPref: [] })).toEqual({})
  })

  it('parses sizes and CPUs as Docker does', () => {
    expect(parseBytes('--limit-memory', '64m')).toBe(64 * MiB)
    expect(parseBytes('--limit-memory', '64MB')).toBe(64 * MiB)
    expect(parseBytes('--limit-memory', '1.5g')).toBe(1.5 * 1024 * MiB)
    expect(parseBytes('--limit-memory', '4096')).toBe(4096)
    expect(parseCpus('--limit-cpu', '1.5')).toBe(1.5e9)
  })

  it('refuses bad input with a usage error: constraint, unit typo, tiny memory, CPU 0, preference', () => {
    expect(usage(() => placementFromFlags({ constraint: ['node.zone==a'] }))).toContain(
      "unknown attribute 'node.zone'",
    )
    expect(usage(() => placementFromFlags({ constraint: ['node.hostname=lab-2'] }))).toContain(
      'expected ATTRIBUTE==VALUE',
    )
    expect(usage(() => placementFromFlags({ reserveMemory: '64Q' }))).toContain(
      "invalid --reserve-memory '64Q'",
    )
    expect(usage(() => placementFromFlags({ limitMemory: '4M' }))).toContain('minimum allowed is 6 MB')
    expect(usage(() => placementFromFlags({ limitCpu: '0' }))).toContain("invalid --limit-cpu '0'")
    expect(usage(() => placementFromFlags({ limitCpu: 'half' }))).toContain('number of CPUs')
    expect(usage(() => placementFromFlags({ placementPref: ['node.labels.zone'] }))).toContain(
      'spread=node.labels.KEY',
    )
    expect(usage(() => placementFromFlags({ replicasMaxPerNode: '-1' }))).toContain('--replicas-max-per-node')
  })
})

describe('applyPlacementUpdate (service update)', () => {
  const spec = {
    placement: { constraints: ['node.labels.zone==a'], preferences: [{ spread: 'node.labels.zone' }] },
    resources: { limits: { memoryBytes: 64 * MiB, nanoCpus: 5e8 } },
  }

  it('removes then adds constraints and preferences, keeps what no flag names', () => {
    expect(
      applyPlacementUpdate(spec, {
        constraintRm: ['node.labels.zone==a'],
        constraintAdd: ['node.labels.zone==b', 'node.labels.zone==b'],
        placementPrefRm: ['spread=node.labels.zone'],
        placementPrefAdd: ['spread=node.labels.rack'],
      }),
    ).toEqual({
      placement: { constraints: ['node.labels.zone==b'], preferences: [{ spread: 'node.labels.rack' }] },
      resources: spec.resources,
    })
  })

  it('replaces limits, reservations and max per node; 0 clears', () => {
    expect(
      applyPlacementUpdate(spec, {
        limitMemory: '0',
        limitCpu: '0.2',
        reserveCpu: '1',
        replicasMaxPerNode: '2',
      }),
    ).toEqual({
      placement: { ...spec.placement, maxReplicasPerNode: 2 },
      resources: { limits: { nanoCpus: 2e8 }, reservations: { nanoCpus: 1e9 } },
    })
    expect(
      applyPlacementUpdate({ placement: { maxReplicasPerNode: 2 } }, { replicasMaxPerNode: '0' }),
    ).toEqual({})
  })

  it('refuses bad input before anything is sent', () => {
    expect(usage(() => applyPlacementUpdate(spec, { constraintAdd: ['zone==a'] }))).toContain(
      'unknown attribute',
    )
    expect(usage(() => applyPlacementUpdate(spec, { limitMemory: '1k' }))).toContain(
      'minimum allowed is 6 MB',
    )
  })
})

describe('node labels', () => {
  it('parses --label-add K=V and K, refuses bad keys', () => {
    expect(parseLabels(['zone=a', 'ssd', 'x=a=b'])).toEqual({ zone: 'a', ssd: '', x: 'a=b' })
    expect(usage(() => parseLabels(['=a']))).toContain('expected KEY=VALUE')
  })

  it('node ls --filter label=zone=a matches the labels the node carries', () => {
    const label = NODE_FILTERS.label
    expect(label?.(node({ labels: { zone: 'a' } }), 'zone=a')).toBe(true)
    expect(label?.(node({ labels: { zone: 'a' } }), 'zone')).toBe(true)
    expect(label?.(node({ labels: { zone: 'b' } }), 'zone=a')).toBe(false)
    expect(label?.(node({}), 'zone')).toBe(false)
  })
})
