import { describe, expect, it } from 'vitest'
import {
  createOrchestrator,
  formatPort,
  type PublishedPort,
  type Service,
  sameTaskSpec,
  schedule,
  taskSpecOf,
  validatePorts,
} from '../src/index.js'
import { fakeTask, node, replicated, T0 } from './helpers.js'

const ingress: PublishedPort = {
  protocol: 'tcp',
  targetPort: 80,
  publishedPort: 8080,
  publishMode: 'ingress',
}
const host: PublishedPort = { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'host' }
const publishing = (s: Service, ports: PublishedPort[]): Service => ({ ...s, spec: { ...s.spec, ports } })
const pendingTask = (id: string, serviceId: string) =>
  fakeTask({ id, serviceId, nodeId: '', state: 'pending' })

describe('published ports', () => {
  it('validates complete ports and refuses each bad field', () => {
    expect(validatePorts([ingress, { ...host, protocol: 'udp' }], 'vip')).toEqual([
      ingress,
      { ...host, protocol: 'udp' },
    ])
    expect(validatePorts(undefined, 'vip')).toEqual([])
    for (const bad of [
      { ...ingress, protocol: 'sctp' },
      { ...ingress, publishMode: 'bridge' },
      { ...ingress, targetPort: 0 },
      { ...ingress, publishedPort: 65536 },
      { ...ingress, publishedPort: undefined },
      { ...ingress, targetPort: 80.5 },
    ])
      expect(() => validatePorts([bad], 'vip')).toThrow(/invalid/)
    expect(() => validatePorts(Array(17).fill(ingress), 'vip')).toThrow(/at most 16/)
  })

  it('refuses the same published port and protocol twice; tcp and udp of one port are two', () => {
    expect(() => validatePorts([ingress, { ...ingress, targetPort: 81 }], 'vip')).toThrow(
      /8080\/tcp is given twice/,
    )
    expect(validatePorts([ingress, { ...ingress, protocol: 'udp' }], 'vip')).toHaveLength(2)
  })

  it("refuses dnsrr with an ingress port in Docker's words, and takes it with a host port", () => {
    expect(() => validatePorts([ingress], 'dnsrr')).toThrow(
      "port published with ingress mode can't be used with dnsrr mode",
    )
    expect(validatePorts([host], 'dnsrr')).toEqual([host])
    const orch = createOrchestrator()
    expect(() =>
      orch.validateService({ name: 'web', argv: ['x'], endpointMode: 'dnsrr', ports: [ingress] }),
    ).toThrow(/dnsrr/)
  })

  it("formats as Docker's PORTS column", () => {
    expect(formatPort(ingress)).toBe('*:8080->80/tcp')
    expect(formatPort({ ...host, protocol: 'udp' })).toBe('8080->80/udp')
  })

  it('a change of ports is a change of what the tasks run', () => {
    const s = replicated('s1', 1)
    expect(sameTaskSpec(taskSpecOf(publishing(s, [ingress])), taskSpecOf(publishing(s, [ingress])))).toBe(
      true,
    )
    expect(sameTaskSpec(taskSpecOf(s), taskSpecOf(publishing(s, [ingress])))).toBe(false)
    expect(sameTaskSpec(taskSpecOf(publishing(s, [ingress])), taskSpecOf(publishing(s, [host])))).toBe(false)
    const next = createOrchestrator().updateService(publishing(s, [ingress]), { ports: [] }, T0 + 1)
    expect(next.spec.ports).toBeUndefined()
    expect(next.updateStatus?.state).toBe('updating')
    expect(next.previous?.spec.ports).toEqual([ingress])
  })

  it('a rollback keeps the current ports (the manager allocated them)', () => {
    const orch = createOrchestrator()
    const updated = orch.updateService(publishing(replicated('s1', 1), [ingress]), { argv: ['y'] }, T0 + 1)
    const moved = orch.updateService(updated, { ports: [host] }, T0 + 2)
    expect(orch.rollbackService(moved, T0 + 3).spec).toMatchObject({ argv: ['y'], ports: [host] })
  })
})

describe('host port filter (swarmkit HostPortFilter)', () => {
  it('puts two tasks publishing the same host port on different nodes', () => {
    const s = schedule({
      services: [publishing(replicated('s1', 2), [host])],
      tasks: [pendingTask('t1', 's1'), pendingTask('t2', 's1')],
      nodes: [node('n1'), node('n2')],
      now: T0,
    })
    expect(s.assignments.map((a) => a.nodeId).sort()).toEqual(['n1', 'n2'])
  })

  it('keeps a task pending when every node has the port taken, by another service too', () => {
    const s = schedule({
      services: [publishing(replicated('s1', 1), [host]), publishing(replicated('s2', 1), [host])],
      tasks: [
        fakeTask({ id: 'run', serviceId: 's1', nodeId: 'n1', state: 'running' }),
        pendingTask('t2', 's2'),
      ],
      nodes: [node('n1')],
      now: T0,
    })
    expect(s.unschedulable).toEqual([
      { taskId: 't2', error: 'no suitable node (host-mode port already in use on 1 node)' },
    ])
  })

  it('ignores ingress ports, other protocols, and tasks that are over', () => {
    const s = schedule({
      services: [
        publishing(replicated('s1', 1), [ingress]),
        publishing(replicated('s2', 1), [{ ...host, protocol: 'udp' }]),
        publishing(replicated('s3', 1), [host]),
      ],
      tasks: [
        fakeTask({ id: 'a', serviceId: 's1', nodeId: 'n1', state: 'running' }),
        fakeTask({ id: 'b', serviceId: 's2', nodeId: 'n1', state: 'running' }),
        fakeTask({ id: 'c', serviceId: 's3', nodeId: 'n1', state: 'failed' }),
        pendingTask('t', 's3'),
      ],
      nodes: [node('n1')],
      now: T0,
    })
    expect(s.assignments).toEqual([{ taskId: 't', nodeId: 'n1' }])
  })

  it("counts a running task's own ports (created before an update), not its service's new ones", () => {
    const old = fakeTask({
      id: 'old',
      serviceId: 's1',
      nodeId: 'n1',
      state: 'running',
      spec: { argv: ['x'], env: {}, ports: [host] },
    })
    const s = schedule({
      services: [
        publishing(replicated('s1', 2), [{ ...host, publishedPort: 9090 }]),
        publishing(replicated('s2', 1), [host]),
      ],
      tasks: [old, pendingTask('t', 's2')],
      nodes: [node('n1')],
      now: T0,
    })
    expect(s.unschedulable.map((u) => u.taskId)).toEqual(['t'])
  })
})

describe('host port filter: a task created before its service published', () => {
  it('does not hold the port its service publishes now', () => {
    const old = fakeTask({
      id: 'old',
      serviceId: 's1',
      nodeId: 'n1',
      state: 'running',
      spec: { argv: ['x'], env: {} },
    })
    const s = schedule({
      services: [publishing(replicated('s1', 2), [host]), publishing(replicated('s2', 1), [host])],
      tasks: [old, pendingTask('t', 's2')],
      nodes: [node('n1')],
      now: T0,
    })
    expect(s.assignments).toEqual([{ taskId: 't', nodeId: 'n1' }])
  })
})
