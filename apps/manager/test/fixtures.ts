import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Clock } from '@swarmnet/interface'
import { silentLogger } from '@swarmnet/logger'
import { createOrchestrator, type Service, type Task } from '@swarmnet/orchestrator'
import { createStore, type Store } from '@swarmnet/store'
import { Dispatcher, type KeySource } from '../src/dispatcher.js'
import type { NetworkService } from '../src/networks.js'
import { TaskIndex } from '../src/task-index.js'

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

/** A dispatcher over `store` with no networks, its task index wired as the manager does. */
export function dispatcherFor(
  store: Store,
  clock: Clock,
  keys?: KeySource,
): { dispatcher: Dispatcher; index: TaskIndex } {
  const tasks = store.table<Task>('tasks')
  const holder: { dispatcher?: Dispatcher } = {}
  const index = new TaskIndex(tasks, (nodeId) => holder.dispatcher?.nodeChanged(nodeId))
  const dispatcher = new Dispatcher({
    store,
    clock,
    logger: silentLogger,
    networks: { allNetworks: async () => [], releaseUnheld: async () => {} } as unknown as NetworkService,
    orchestrator: createOrchestrator(),
    tasks,
    services: store.table<Service>('services'),
    index,
    serial: (fn) => fn(),
    wake: () => {},
    ...(keys !== undefined ? { keys } : {}),
  })
  holder.dispatcher = dispatcher
  return { dispatcher, index }
}

/** A store in a fresh directory with a dispatcher over it; `close` removes it all. */
export async function dispatcherInTmp(clock: Clock, keys?: KeySource) {
  const dir = await mkdtemp(path.join(tmpdir(), 'swarmnet-dispatcher-'))
  const store = createStore({ logger: silentLogger }, { path: dir })
  await store.open()
  const { dispatcher, index } = dispatcherFor(store, clock, keys)
  return {
    store,
    dispatcher,
    index,
    close: async () => {
      index.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
