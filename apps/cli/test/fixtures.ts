import type { NodeView, ServiceViewJson, TaskJson } from '@swarmnet/wire'
import { expect } from 'vitest'
import { CliError } from '../src/errors.js'

export function service(o: Partial<ServiceViewJson>): ServiceViewJson {
  return {
    id: 'svc0',
    name: 'web',
    mode: 'replicated',
    replicas: '1/1',
    desired: 1,
    argv: ['sleep', '1000'],
    env: {},
    networks: [],
    endpointMode: 'vip',
    virtualIPs: [],
    restartCondition: 'any',
    placement: {},
    resources: {},
    ports: [],
    createdAt: '2026-12-02T00:00:00.000Z',
    updatedAt: '2026-12-02T00:00:00.000Z',
    ...o,
  }
}

export function task(o: Partial<TaskJson>): TaskJson {
  return {
    id: 'task0',
    name: 'web.1',
    service: 'web',
    slot: 1,
    node: 'host-1',
    nodeId: 'n1',
    desiredState: 'running',
    state: 'running',
    currentState: 'Running 1 second ago',
    error: '',
    addresses: [],
    ...o,
  }
}

export function node(o: Partial<NodeView>): NodeView {
  return {
    id: 'a'.repeat(25),
    hostname: 'host-1',
    role: 'worker',
    status: 'ready',
    availability: 'active',
    addr: '192.0.2.1',
    managerStatus: '',
    self: false,
    peerId: 'p',
    createdAt: '',
    updatedAt: '',
    certificateExpiry: '',
    engineVersion: '0.1.0',
    warnings: [],
    labels: {},
    ...o,
  }
}

/** The message of the usage error (exit 2) `fn` throws; fails the test when it throws none. */
export function usage(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CliError)
    expect((err as CliError).exitCode).toBe(2)
    return (err as Error).message
  }
  throw new Error('expected a usage error')
}
