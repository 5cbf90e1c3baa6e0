import { describe, expect, it } from 'vitest'
import {
  createOrchestrator,
  type Node,
  type Placement,
  parseConstraint,
  type Resources,
  replacePlacement,
  type Service,
} from '../src/index.js'
import { Cluster, catchErr, global, node, replicated, T0 } from './helpers.js'

const GiB = 1024 ** 3
const cap = { nanoCpus: 2e9, memoryBytes: 4 * GiB }
const nodes = (): Node[] => [
  node('n1', { labels: { zone: 'a' }, role: 'manager', resources: cap }),
  node('n2', { labels: { zone: 'a' }, resources: cap }),
  node('n3', { labels: { zone: 'b' }, resources: cap }),
]
const withSpec = (s: Service, placement?: Placement, resources?: Resources): Service => ({
  ...s,
  spec: {
    ...s.spec,
    ...(placement ? { placement } : {}),
    ...(resources ? { resources } : {}),
  },
})
const pending = (c: Cluster) => c.live().filter((t) => t.state === 'pending')

describe('constraints', () => {
  it('parses the four attributes with == and !=, and refuses unknown ones or bad syntax', () => {
    expect(parseConstraint('node.hostname==lab-2')).toEqual({
      key: 'node.hostname',
      op: '==',
      value: 'lab-2',
    })
    expect(parseConstraint('node.labels.zone != a')).toEqual({
      key: 'node.labels.zone',
      op: '!=',
      value: 'a',
    })
    expect(parseConstraint('Node.Role==Manager').key).toBe('node.role')
    expect(catchErr(() => parseConstraint('node.colour==red')).message).toContain(
      "unknown attribute 'node.colour'",
    )
    expect(catchErr(() => parseConstraint('node.hostname=lab-2')).message).toContain(
      'expected ATTRIBUTE==VALUE',
    )
    expect(catchErr(() => parseConstraint('node.role==boss')).message).toContain('manager or worker')
    expect(catchErr(() => parseConstraint('node.labels.zone==')).message).toContain('invalid value')
  })

  it('puts every task on the node a hostname constraint names', () => {
    const c = new Cluster(
      [withSpec(replicated('s1', 4), { constraints: ['node.hostname==host-n2'] })],
      nodes(),
    )
    c.converge()
    expect(c.spread('s1')).toEqual({ n2: 4 })
  })

  it('puts tasks only on nodes with the label; node.role and != work too', () => {
    const c = new Cluster(
      [
        withSpec(replicated('s1', 4), { constraints: ['node.labels.zone==a'] }),
        withSpec(replicated('s2', 2), { constraints: ['node.role==manager'] }),
        withSpec(replicated('s3', 2), { constraints: ['node.labels.zone!=a'] }),
      ],
      nodes(),
    )
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 2, n2: 2 })
    expect(c.spread('s2')).toEqual({ n1: 2 })
    expect(c.spread('s3')).toEqual({ n3: 2 })
  })

  it("keeps a task no node satisfies pending with Docker's reason", () => {
    const c = new Cluster([withSpec(replicated('s1', 1), { constraints: ['node.labels.zone==c'] })], nodes())
    c.converge()
    expect(pending(c).map((t) => t.error)).toEqual([
      'no suitable node (scheduling constraints not satisfied on 3 nodes)',
    ])
  })

  it('spreads 4 replicas over zones a,a,b as 2 and 2', () => {
    const c = new Cluster(
      [withSpec(replicated('s1', 4), { preferences: [{ spread: 'node.labels.zone' }] })],
      nodes(),
    )
    c.converge()
    const spread = c.spread('s1')
    expect((spread.n1 ?? 0) + (spread.n2 ?? 0)).toBe(2)
    expect(spread.n3).toBe(2)
  })

  it('runs at most N per node: 4 replicas, max 1, 3 nodes → 3 running, 1 pending with the reason', () => {
    const c = new Cluster([withSpec(replicated('s1', 4), { maxReplicasPerNode: 1 })], nodes())
    c.converge()
    expect(c.spread('s1')).toEqual({ '': 1, n1: 1, n2: 1, n3: 1 })
    expect(pending(c).map((t) => t.error)).toEqual(['no suitable node (max replicas per node limit exceed)'])
  })

  it('reserves against the capacity each node reported; more than any node has stays pending', () => {
    const c = new Cluster(
      [
        withSpec(replicated('big', 1), undefined, { reservations: { memoryBytes: 100 * GiB } }),
        withSpec(replicated('s1', 5), undefined, { reservations: { memoryBytes: 3 * GiB } }),
      ],
      nodes(),
    )
    c.converge()
    expect(pending(c).map((t) => [t.serviceId, t.error])).toEqual([
      ['big', 'no suitable node (insufficient resources on 3 nodes)'],
      ['s1', 'no suitable node (insufficient resources on 3 nodes)'],
      ['s1', 'no suitable node (insufficient resources on 3 nodes)'],
    ])
    expect(c.spread('s1')).toEqual({ '': 2, n1: 1, n2: 1, n3: 1 })
  })

  it('names each reason with its node count when nodes fail differently', () => {
    const c = new Cluster(
      [
        withSpec(
          replicated('s1', 1),
          { constraints: ['node.labels.zone==b'] },
          { reservations: { nanoCpus: 3e9 } },
        ),
      ],
      [
        ...nodes().slice(0, 2),
        node('n3', { labels: { zone: 'b' }, resources: { nanoCpus: 1e9, memoryBytes: GiB } }),
      ],
    )
    c.converge()
    expect(pending(c)[0]?.error).toBe('no suitable node (insufficient resources on 3 nodes)')
    c.setService(
      withSpec(
        replicated('s1', 1),
        { constraints: ['node.labels.zone==b'] },
        { reservations: { nanoCpus: 1e9 } },
      ),
    )
    c.setNode('n3', { labels: { zone: 'c' } })
    c.converge()
    expect(pending(c)[0]?.error).toBe('no suitable node (scheduling constraints not satisfied on 3 nodes)')
  })

  it('needs nodes that enforce limits (cgroups) for a service with limits', () => {
    const limited = withSpec(replicated('s1', 1), undefined, { limits: { memoryBytes: 64 * 1024 ** 2 } })
    const c = new Cluster([limited], nodes())
    c.converge()
    expect(pending(c)[0]?.error).toBe(
      'resource limits need cgroups (memory and cpu controllers); nodes host-n1, host-n2, host-n3 cannot',
    )
    c.setNode('n3', { capabilities: ['cgroups'] })
    c.converge()
    expect(c.spread('s1')).toEqual({ n3: 1 })
  })

  it('moves tasks off a node whose labels no longer satisfy the constraints', () => {
    const c = new Cluster([withSpec(replicated('s1', 2), { constraints: ['node.labels.zone==a'] })], nodes())
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 1, n2: 1 })
    c.setNode('n2', { labels: { zone: 'b' } })
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 2 })
    const gone = c.tasks.find((t) => t.nodeId === 'n2')
    expect(gone).toMatchObject({
      desiredState: 'shutdown',
      error: 'assigned node no longer meets constraints',
    })
    expect(c.slotsOf('s1')).toEqual([1, 2])
  })

  it("re-places tasks when the service's placement changes (replacePlacement)", () => {
    const c = new Cluster([replicated('s1', 3)], nodes())
    c.converge()
    expect(c.spread('s1')).toEqual({ n1: 1, n2: 1, n3: 1 })
    const s1 = c.services[0] as Service
    const next = replacePlacement(s1, { placement: { constraints: ['node.labels.zone==b'] } }, T0 + 1)
    expect(next.version).toBe(2)
    c.setService(next)
    c.converge()
    expect(c.spread('s1')).toEqual({ n3: 3 })
    // lowering max replicas per node moves the excess; nothing fits, so it waits
    c.setService(
      replacePlacement(
        next,
        { placement: { constraints: ['node.labels.zone==b'], maxReplicasPerNode: 2 } },
        T0 + 2,
      ),
    )
    c.converge()
    expect(c.spread('s1')).toEqual({ '': 1, n3: 2 })
    expect(pending(c)[0]?.error).toContain('scheduling constraints not satisfied on 2 nodes')
  })

  it('runs a global service only on the nodes its constraints allow', () => {
    const c = new Cluster([withSpec(global('g'), { constraints: ['node.labels.zone==a'] })], nodes())
    c.converge()
    expect(c.spread('g')).toEqual({ n1: 1, n2: 1 })
    c.setNode('n1', { labels: {} })
    c.converge()
    expect(c.spread('g')).toEqual({ n2: 1 })
  })
})

describe('validating placement and resources', () => {
  const orch = createOrchestrator()
  const create = (over: object) => () => orch.validateService({ name: 'web', argv: ['sleep', '1'], ...over })

  it('keeps valid fields and drops empty ones', () => {
    const v = orch.validateService({
      name: 'web',
      argv: ['x'],
      placement: { constraints: ['node.labels.zone==a'], preferences: [], maxReplicasPerNode: 0 },
      resources: { limits: { memoryBytes: 64 * 1024 ** 2, nanoCpus: 2e8 }, reservations: {} },
    })
    expect(v.spec.placement).toEqual({ constraints: ['node.labels.zone==a'] })
    expect(v.spec.resources).toEqual({ limits: { memoryBytes: 64 * 1024 ** 2, nanoCpus: 2e8 } })
  })

  it('refuses bad constraints, preferences, tiny memory limits and a CPU limit of 0', () => {
    expect(catchErr(create({ placement: { constraints: ['zone==a'] } })).message).toContain(
      'unknown attribute',
    )
    expect(catchErr(create({ placement: { preferences: [{ spread: 'node.hostname' }] } })).message).toContain(
      'only spread over node.labels.KEY',
    )
    expect(catchErr(create({ placement: { maxReplicasPerNode: -1 } })).message).toContain(
      'replicas max per node',
    )
    expect(catchErr(create({ resources: { limits: { memoryBytes: 4 * 1024 ** 2 } } })).message).toContain(
      'minimum allowed is 6 MB',
    )
    expect(catchErr(create({ resources: { limits: { nanoCpus: 0 } } })).message).toContain(
      'invalid limit CPU 0',
    )
    expect(catchErr(create({ resources: { reservations: { memoryBytes: 1.5 } } })).code).toBe(
      'ERR_INVALID_SERVICE_SPEC',
    )
  })
})
