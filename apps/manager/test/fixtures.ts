import type { Task } from '@swarmnet/orchestrator'

/** A task as the store holds it, assigned to `nodeId`. */
export const task = (id: string, nodeId: string, over: Partial<Task> = {}): Task => ({
  id,
  serviceId: 'svc1',
  slot: 1,
  nodeId,
  desiredState: 'running',
  state: 'assigned',
  error: '',
  createdAt: 0,
  updatedAt: 0,
  statusAt: 0,
  attempt: 0,
  ...over,
})
