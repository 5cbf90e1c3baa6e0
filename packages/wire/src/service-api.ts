/** Services and tasks: the local API views and the dispatcher messages between nodes. */
import { TASK_STATES, type TaskState } from '@swarmnet/orchestrator'
import { z } from 'zod'
import { ipv4, placement, resourceAmounts, resources } from './common.js'
import { keyring, keyringVersion } from './encryption.js'
import { endpoint } from './endpoint.js'
import { endpointView, networkSpec } from './network-api.js'
import { MAX_PUBLISHED_PORTS, publishedPort, publishedPortRequest, publishRm } from './ports.js'

/** [position, ms since the epoch] pairs: when a task's output had reached a position. */
const logTimes = z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).max(4_096)

/** The task states, in swarmkit's order; the orchestrator owns the list. */
const taskState = z.enum(TASK_STATES as [TaskState, ...TaskState[]])

const ms = z.number().int().min(0).max(86_400_000)

/** `--update-*` / `--rollback-*`: the fields given (since 0.5). */
const updateConfig = z
  .object({
    parallelism: z.number().int().min(0).max(1_000_000),
    delayMs: ms,
    order: z.enum(['stop-first', 'start-first']),
    failureAction: z.enum(['pause', 'continue', 'rollback']),
    monitorMs: ms,
    maxFailureRatio: z.number().min(0).max(1),
  })
  .strict()

/** `--restart-*` (since 0.5; the condition also as `restartCondition`). */
const restartPolicy = z
  .object({
    condition: z.enum(['any', 'on-failure', 'none']),
    delayMs: ms,
    maxAttempts: z.number().int().min(0).max(1_000_000),
    windowMs: ms,
  })
  .strict()

/** `--health-*` (since 0.5): a shell command run in the task; exit 0 is healthy. */
const healthConfig = z
  .object({
    cmd: z.string().min(1).max(4096),
    intervalMs: ms.min(1),
    timeoutMs: ms.min(1),
    retries: z.number().int().min(1).max(1_000),
    startPeriodMs: ms,
  })
  .strict()
const healthState = z.enum(['starting', 'healthy', 'unhealthy'])

export const serviceCreateRequest = z.object({
  name: z.string().max(128),
  replicas: z.number().int().optional(),
  global: z.boolean().default(false),
  networks: z.array(z.string().max(256)).max(16).default([]),
  env: z.record(z.string().max(256), z.string().max(4096)).default({}),
  restartCondition: z.enum(['any', 'on-failure', 'none']).default('any'),
  argv: z.array(z.string().max(4096)).max(256),
  endpointMode: z.enum(['vip', 'dnsrr']).optional(),
  health: healthConfig.partial().extend({ cmd: healthConfig.shape.cmd }).optional(),
  restart: restartPolicy.partial().optional(),
  update: updateConfig.partial().optional(),
  rollback: updateConfig.partial().optional(),
  /** `--constraint`, `--placement-pref`, `--replicas-max-per-node` (since 0.5). */
  placement: placement.optional(),
  /** `--limit-cpu`, `--limit-memory`, `--reserve-cpu`, `--reserve-memory` (since 0.5). */
  resources: resources.optional(),
  /** `--publish` (since 0.6): ingress ports without `publishedPort` get one from 30000–32767. */
  ports: z.array(publishedPortRequest).max(MAX_PUBLISHED_PORTS).optional(),
})

/** `service update` (since 0.5): what changes; absent fields stay. */
export const serviceUpdateRequest = z
  .object({
    ref: z.string().max(256),
    argv: z.array(z.string().max(4096)).min(1).max(256).optional(),
    envAdd: z.record(z.string().max(256), z.string().max(4096)).optional(),
    envRm: z.array(z.string().max(256)).max(256).optional(),
    replicas: z.number().int().optional(),
    force: z.boolean().optional(),
    /** null: remove the health check (`--no-healthcheck`). */
    health: healthConfig.partial().nullable().optional(),
    restart: restartPolicy.partial().optional(),
    update: updateConfig.partial().optional(),
    rollback: updateConfig.partial().optional(),
    /** The whole new placement and resources (the CLI applies `--constraint-add …` to the current ones). */
    placement: placement.optional(),
    resources: resources.optional(),
    /** `--publish-add` (since 0.6): replaces a port published on the same port and protocol. */
    publishAdd: z.array(publishedPortRequest).max(MAX_PUBLISHED_PORTS).optional(),
    /** `--publish-rm` (since 0.6): each must be published by the service. */
    publishRm: z.array(publishRm).max(MAX_PUBLISHED_PORTS).optional(),
  })
  .strict()
export type ServiceUpdateRequest = z.infer<typeof serviceUpdateRequest>

const updateStatus = z.object({
  state: z.enum([
    'updating',
    'paused',
    'completed',
    'rollback_started',
    'rollback_paused',
    'rollback_completed',
  ]),
  startedAt: z.string(),
  completedAt: z.string().optional(),
  message: z.string(),
})

export const serviceView = z.object({
  id: z.string(),
  name: z.string(),
  mode: z.enum(['replicated', 'global']),
  replicas: z.string(),
  desired: z.number().int(),
  argv: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  networks: z.array(z.object({ id: z.string(), name: z.string() })),
  endpointMode: z.enum(['vip', 'dnsrr']).default('vip'),
  /** One per network with endpoint mode vip, as Docker's `Endpoint.VirtualIPs`. */
  virtualIPs: z.array(z.object({ network: z.string(), addr: z.string() })).default([]),
  restartCondition: z.string(),
  /** The restart policy, update and rollback configs (since 0.5). */
  restartPolicy: restartPolicy.optional(),
  healthCheck: healthConfig.optional(),
  updateConfig: updateConfig.optional(),
  rollbackConfig: updateConfig.optional(),
  /** The last update or rollback (since 0.5), as Docker's `UpdateStatus`. */
  updateStatus: updateStatus.optional(),
  /** The spec version: bumped by every update, scale and rollback (since 0.5). */
  version: z.number().int().optional(),
  /** As Docker's `TaskTemplate.Placement` and `TaskTemplate.Resources` (since 0.5). */
  placement: placement.default({}),
  resources: resources.default({}),
  /** As Docker's `Endpoint.Ports` (since 0.6). */
  ports: z.array(publishedPort).max(MAX_PUBLISHED_PORTS).default([]),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type ServiceViewJson = z.infer<typeof serviceView>

export const taskJson = z.object({
  id: z.string(),
  name: z.string(),
  service: z.string(),
  slot: z.number().int(),
  node: z.string(),
  nodeId: z.string(),
  desiredState: z.string(),
  state: taskState,
  currentState: z.string(),
  error: z.string(),
  exitCode: z.number().int().optional(),
  /** With a health check (since 0.5). */
  health: healthState.optional(),
  addresses: z.array(z.object({ network: z.string(), ip: z.string(), mac: z.string() })),
  /** When the task was created (since 0.5). */
  createdAt: z.string().optional(),
})
export type TaskJson = z.infer<typeof taskJson>

const ref = z.object({ ref: z.string().max(256) })
const ok = z.object({ ok: z.literal(true) })

export const serviceApi = {
  create: endpoint('POST', '/v1/services/create', serviceCreateRequest, serviceView),
  list: endpoint('GET', '/v1/services', z.object({}).strict(), z.array(serviceView)),
  inspect: endpoint('POST', '/v1/services/inspect', ref, serviceView),
  ps: endpoint('POST', '/v1/services/ps', ref, z.array(taskJson)),
  scale: endpoint(
    'POST',
    '/v1/services/scale',
    z.object({ ref: z.string().max(256), replicas: z.number().int() }),
    serviceView,
  ),
  /** A rolling update to the patched spec (since 0.5). */
  update: endpoint('POST', '/v1/services/update', serviceUpdateRequest, serviceView),
  /** A rolling update back to the previous spec (since 0.5). */
  rollback: endpoint('POST', '/v1/services/rollback', ref, serviceView),
  remove: endpoint('POST', '/v1/services/remove', ref, ok),
  /**
   * The kept output of every attempt of a service (oldest first within a slot), or of one
   * task (`ref` a task id or unique prefix). `from` (since 0.2): per task, only what came
   * after that position (an `end` of an earlier answer); with `follow`, tasks not in `from`
   * are read from their start, so a follower sees new attempts whole.
   */
  logs: endpoint(
    'POST',
    '/v1/services/logs',
    z.object({
      ref: z.string().max(256),
      tail: z.number().int().min(0).optional(),
      from: z.record(z.string().max(64), z.number().int().nonnegative()).optional(),
      follow: z.boolean().optional(),
    }),
    z.array(
      z.object({
        task: z.string(),
        name: z.string(),
        node: z.string(),
        text: z.string(),
        /** Where this output ends (since 0.2); absent when the node did not answer. */
        end: z.number().int().nonnegative().optional(),
        /** When the output reached each position (see the task report's `logTimes`). */
        times: logTimes.optional(),
        slot: z.number().int().optional(),
      }),
    ),
  ),
} as const

/** One task as the dispatcher hands it to its node. */
export const assignment = z.object({
  id: z.string(),
  serviceId: z.string(),
  serviceName: z.string(),
  slot: z.number().int(),
  desiredState: z.enum(['running', 'shutdown', 'remove']),
  argv: z.array(z.string()).max(256),
  env: z.record(z.string(), z.string()),
  /**
   * The task's addresses, one per network, allocated by the manager before dispatch; `lb` is the
   * node's load balancer address on that network (since 0.4).
   */
  attachments: z.array(endpointView.extend({ lb: ipv4.optional() })).max(16),
  /** The task's health check (since 0.5). */
  health: healthConfig.optional(),
  /** What the kernel enforces on the task through cgroups (since 0.5). */
  limits: resourceAmounts.optional(),
  /** Every port the task's service publishes, `publishedPort` filled in (since 0.6). */
  ports: z.array(publishedPort).max(MAX_PUBLISHED_PORTS).optional(),
})
export type Assignment = z.infer<typeof assignment>

export const taskReport = z.object({
  id: z.string().max(64),
  state: taskState,
  error: z.string().max(1024).optional(),
  exitCode: z.number().int().optional(),
  /** With a health check: its last result (since 0.5). */
  health: healthState.optional(),
  /** recent log lines, for `service logs` */
  logTail: z
    .string()
    .max(64 * 1024)
    .optional(),
  /** the position where `logTail` ends in the task's output (since 0.2) */
  logEnd: z.number().int().nonnegative().optional(),
  /** [position, ms]: the output had reached the position by then; a line's time is the first ≥ its end (since 0.2) */
  logTimes: logTimes.optional(),
})
export type TaskReport = z.infer<typeof taskReport>

/** An assignments revision: `epoch:counter`, opaque to the node. */
const revision = z.string().max(64)

export const dispatcherApi = {
  /**
   * A node's sync (since 0.3 with deltas): it sends the reports that changed since its last
   * sync, `held` when it changed, and `since`, the revision it holds; the answer carries the
   * assignments changed since then and the tasks removed, or the whole list (`full`), after
   * which the node sends all its reports and its held set again.
   */
  sync: endpoint(
    'POST',
    '/v1/tasks/sync',
    z.object({
      reports: z.array(taskReport).max(10_000),
      /** tasks that still hold a sandbox or a process on the node: their addresses stay taken */
      held: z.array(z.string().max(64)).max(10_000).optional(),
      since: revision.optional(),
      /** The keyring version the node holds (since 0.4). */
      keys: keyringVersion.optional(),
    }),
    z.object({
      revision: revision.optional(),
      /** `assignments` is the whole list (true from managers before 0.3) */
      full: z.boolean().default(true),
      assignments: z.array(assignment).max(10_000),
      removed: z.array(z.string().max(64)).max(10_000).default([]),
      /** tasks whose recent log lines the manager wants in the next sync (`service logs`) */
      wantLogs: z.array(z.string()).max(10_000),
      /** The keyring, when the node's version is not the current one (since 0.4). */
      keys: keyring.optional(),
      /** of those, the ones wanted from a position rather than their last lines (since 0.2) */
      wantLogsFrom: z.record(z.string().max(64), z.number().int().nonnegative()).optional(),
      /**
       * The cluster's ingress network and this node's load balancer address on it (since 0.6),
       * sent to every node whether or not it runs a task.
       */
      ingress: z.object({ network: networkSpec, lb: ipv4 }).optional(),
    }),
  ),
  /**
   * Waits (up to `waitMs`) until the node's assignments change since `since`, or the manager
   * wants its logs; answers at once when they already have (since 0.3). The node then syncs.
   */
  watch: endpoint(
    'POST',
    '/v1/tasks/watch',
    z.object({
      since: revision,
      waitMs: z.number().int().min(0).max(60_000),
      /** The keyring version the node holds: a rotation answers the watch too (since 0.4). */
      keys: keyringVersion.optional(),
    }),
    /** `membership`: a node's status changed (since 0.4): heartbeat now to learn it */
    z.object({ changed: z.boolean(), membership: z.boolean().default(false) }),
  ),
} as const
