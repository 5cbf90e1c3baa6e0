import { samePorts } from './ports.js'
import type { Service, Task, TaskSpec } from './types.js'

/** What a task of the service created now runs. */
export function taskSpecOf(service: Service): TaskSpec {
  const { argv, env, forceUpdate, health, ports } = service.spec
  return {
    argv: [...argv],
    env: { ...env },
    ...(forceUpdate ? { forceUpdate } : {}),
    ...(health ? { health: { ...health } } : {}),
    ...(ports !== undefined && ports.length > 0 ? { ports: ports.map((p) => ({ ...p })) } : {}),
  }
}

/** Same command, environment, health check, published ports and force counter. */
export function sameTaskSpec(a: TaskSpec, b: TaskSpec): boolean {
  if ((a.forceUpdate ?? 0) !== (b.forceUpdate ?? 0)) return false
  if (JSON.stringify(a.health ?? null) !== JSON.stringify(b.health ?? null)) return false
  if (!samePorts(a.ports, b.ports)) return false
  if (a.argv.length !== b.argv.length || a.argv.some((x, i) => x !== b.argv[i])) return false
  const ka = Object.keys(a.env)
  return ka.length === Object.keys(b.env).length && ka.every((k) => b.env[k] === a.env[k])
}

/** What the task runs: its own spec, or (tasks from before 0.5) its service's. */
export function specOfTask(task: Task, service: Service): TaskSpec {
  return task.spec ?? taskSpecOf(service)
}

/** Running, and healthy if it has a health check: it counts for the updater and gets traffic. */
export function isReady(task: Task): boolean {
  return task.state === 'running' && (task.spec?.health === undefined || task.health === 'healthy')
}
