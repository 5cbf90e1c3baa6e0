import type { PlacementFilter } from './placement.js'
/** Lifecycle states of a task, in swarmkit's order (see {@link stateRank}). */
export type TaskState =
  | 'new'
  | 'pending'
  | 'assigned'
  | 'accepted'
  | 'preparing'
  | 'starting'
  | 'running'
  | 'complete'
  | 'shutdown'
  | 'failed'
  | 'rejected'
  | 'remove'
  | 'orphaned'

/** What the manager wants a task to be; the agent converges towards it. */
export type DesiredState = 'running' | 'shutdown' | 'remove'

export type RestartCondition = 'any' | 'on-failure' | 'none'

export interface RestartPolicy {
  /** `any`: restart whatever the exit; `on-failure`: only after a failure; `none`: never. */
  condition: RestartCondition
  /** Wait this long after a task ended before its replacement is created. Default 5000. */
  delayMs: number
  /** Restarts allowed per slot (since the slot's last update); 0 = unlimited. */
  maxAttempts: number
  /**
   * A task that ran this long before it ended resets its slot's back-off (the delay doubles on
   * each consecutive failure, up to 10× `delayMs`); 0 or absent = 60 s.
   */
  windowMs?: number
}

export type UpdateOrder = 'stop-first' | 'start-first'
export type UpdateFailureAction = 'pause' | 'continue' | 'rollback'

/** How a rolling update (or rollback) replaces the tasks: Docker's `--update-*` / `--rollback-*`. */
export interface UpdateConfig {
  /** Slots replaced at once; 0 = all at once. Default 1. */
  parallelism: number
  /** Wait between a slot's new task running and the next slot taken. Default 0. */
  delayMs: number
  /** Default `stop-first`. */
  order: UpdateOrder
  /** Default `pause` (a rollback's: `pause`; `rollback` is not allowed there). */
  failureAction: UpdateFailureAction
  /** A new task that ends within this long of running counts as a failure. Default 5000. */
  monitorMs: number
  /** Failures tolerated, as a fraction of the slots. Default 0. */
  maxFailureRatio: number
}

export type UpdateState =
  | 'updating'
  | 'paused'
  | 'completed'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed'

/** Docker's `UpdateStatus`. */
export interface UpdateStatus {
  state: UpdateState
  startedAt: number
  completedAt?: number
  message: string
}

/** Docker's `--health-*`: a command run inside the task; exit 0 is healthy. */
export interface HealthConfig {
  /** Run with `/bin/sh -c` inside the task's namespaces. */
  cmd: string
  /** Between checks. Default 30 s. */
  intervalMs: number
  /** A check that takes longer fails. Default 30 s. */
  timeoutMs: number
  /** Consecutive failures that make the task unhealthy. Default 3. */
  retries: number
  /** Failures in this long after the start do not count. Default 0. */
  startPeriodMs: number
}

export type HealthState = 'starting' | 'healthy' | 'unhealthy'

/** A published port (Docker's `PortConfig`), `publishedPort` always filled in. */
export interface PublishedPort {
  protocol: 'tcp' | 'udp'
  targetPort: number
  publishedPort: number
  publishMode: 'ingress' | 'host'
}

/** What the tasks run: a task keeps the spec it was created with. */
export interface TaskSpec {
  argv: string[]
  env: Record<string, string>
  health?: HealthConfig
  /** The service's ports when the task was created (a change replaces the tasks). */
  ports?: PublishedPort[]
  /** `service update --force` bumps it: every task is replaced. */
  forceUpdate?: number
}

/** The part of a service that `service rollback` restores. */
export interface PreviousSpec {
  mode: ServiceMode
  spec: ServiceSpec
  restart: RestartPolicy
  update?: UpdateConfig
  rollback?: UpdateConfig
}

export type ServiceMode = { replicated: { replicas: number } } | { global: Record<string, never> }

/** `vip`: one virtual IP per network, balanced over the tasks; `dnsrr`: the name gives the task IPs. */
export type EndpointMode = 'vip' | 'dnsrr'

export interface ServiceSpec {
  argv: string[]
  env: Record<string, string>
  /** Network ids. */
  networks: string[]
  /** Absent in services stored before 0.4: `vip`. */
  endpointMode?: EndpointMode
  /** Bumped by `service update --force`. */
  forceUpdate?: number
  health?: HealthConfig
  /** Where its tasks may go (constraints, spread preferences, max per node). @default anywhere */
  placement?: Placement
  /** Kernel limits per task and what the scheduler reserves on its node. @default none */
  resources?: Resources
  /** Published ports (since 0.6). @default none */
  ports?: PublishedPort[]
}

/** Docker's `--constraint`, `--placement-pref` and `--replicas-max-per-node`. */
export interface Placement {
  /** `node.hostname==lab-2`, `node.labels.zone!=b`, … (validated, see constraints.ts). */
  constraints?: string[]
  /** Spread the tasks evenly over the values of each label, in order: `node.labels.zone`. */
  preferences?: Array<{ spread: string }>
  /** At most this many tasks of the service per node; 0 or absent = no limit. */
  maxReplicasPerNode?: number
}

/** CPU in nano-CPUs (1e9 = one core) and memory in bytes, as Docker's API counts them. */
export interface ResourceAmounts {
  nanoCpus?: number
  memoryBytes?: number
}

export interface Resources {
  /** Enforced by the kernel (cgroups) on the task. */
  limits?: ResourceAmounts
  /** Held on the node by the scheduler against the node's reported capacity. */
  reservations?: ResourceAmounts
}

/** A service's VIP on one of its networks, allocated by the manager at create. */
export interface VirtualIp {
  networkId: string
  ip: string
  prefix: number
}

export interface Service {
  id: string
  name: string
  mode: ServiceMode
  spec: ServiceSpec
  restart: RestartPolicy
  /** One per network with endpoint mode `vip` (none with `dnsrr`). */
  virtualIps?: VirtualIp[]
  /** Absent: the defaults ({@link UpdateConfig}). */
  update?: UpdateConfig
  rollback?: UpdateConfig
  /** The spec before the last `service update` (what `service rollback` returns to). */
  previous?: PreviousSpec
  /** The last update or rollback, absent if there was none. */
  updateStatus?: UpdateStatus
  version: number
  /** Milliseconds since the epoch. */
  createdAt: number
  updatedAt: number
}

/** One address of a task, allocated by the manager when the task is scheduled, before dispatch. */
export interface TaskAttachment {
  networkId: string
  ip: string
  prefix: number
  mac: string
  /** The node's load balancer address on the network (absent: assigned before 0.4). */
  lb?: string
}

export interface Task {
  id: string
  serviceId: string
  /** Replicated: 1..N; global: 0. */
  slot: number
  /** `''` until scheduled; global tasks are created with it set. */
  nodeId: string
  desiredState: DesiredState
  state: TaskState
  /** Last error ("no suitable node (…)", "task: non-zero exit (1)"), `''` if none. */
  error: string
  exitCode?: number
  createdAt: number
  updatedAt: number
  /** When `state` last changed (swarmkit's `status.timestamp`): the restart delay and "Running 5 seconds ago" count from it. */
  statusAt: number
  /** Restarts of this slot so far (0 for the first task of a slot). */
  attempt: number
  /** Its addresses, one per network of the service; set when it is assigned to a node. */
  attachments?: TaskAttachment[]
  /** What it runs (absent: created before 0.5, the service's spec). */
  spec?: TaskSpec
  /** When it was first reported running (and healthy, with a health check). */
  runningAt?: number
  /** With a health check: the last result its node reported. */
  health?: HealthState
  /** Consecutive failures of its slot before it was created (the restart back-off). */
  streak?: number
  /** The slot's attempt when its spec last changed: max attempts count from there. */
  attemptBase?: number
  /** Start-first: the task of the slot it replaces, kept running until this one runs. */
  replaces?: string
}

export type NodeStatus = 'ready' | 'down' | 'unknown'
export type NodeAvailability = 'active' | 'pause' | 'drain'

export interface Node {
  id: string
  hostname: string
  status: NodeStatus
  availability: NodeAvailability
  /** What the node reported it can do (`esp`, `ipvs`); placement filters read it. @default none */
  capabilities?: readonly string[]
  /** Constraints on `node.role` read it. @default worker */
  role?: 'manager' | 'worker'
  /** `node update --label-add`; constraints and spread preferences read them. @default none */
  labels?: Readonly<Record<string, string>>
  /** What the node reported it has (reservations count against it). @default unknown: nothing */
  resources?: { nanoCpus: number; memoryBytes: number }
}

/** What an agent reports about one of its tasks. */
export interface StatusReport {
  state: TaskState
  error?: string
  exitCode?: number
  health?: HealthState
}

export interface ReconcileInput {
  services: readonly Service[]
  tasks: readonly Task[]
  nodes: readonly Node[]
  /** Milliseconds since the epoch. */
  now: number
  /** Ids for created tasks; called once per created task, in a deterministic order. */
  newId: () => string
}

/** Changes for the store, to apply in one batch. A task id appears in at most one of the lists. */
export interface ReconcileResult {
  /** New tasks (state `new`, `nodeId` '' or, for global services, the node). */
  create: Task[]
  /** Whole updated tasks (desired state changes, orphaned, never-dispatched tasks shut down). */
  update: Task[]
  /** Ids of tasks to delete (history over the limit, tasks of removed services). */
  remove: string[]
}

export interface ScheduleInput {
  tasks: readonly Task[]
  nodes: readonly Node[]
  services: readonly Service[]
  /** What services need of nodes beyond Ready and Active (placement.ts). @default none */
  filter?: PlacementFilter
  /** Milliseconds since the epoch; stamps the updates and dates recent failures. */
  now: number
}

export interface Assignment {
  taskId: string
  nodeId: string
}

export interface Unschedulable {
  taskId: string
  /** `no suitable node (…)` */
  error: string
}

export interface ScheduleResult {
  /** Tasks to bind to a node (`state` → `assigned`). */
  assignments: Assignment[]
  /** Tasks that stay `pending`, with the reason. */
  unschedulable: Unschedulable[]
  /** The whole tasks with the above applied (only those that changed), ready to persist. */
  update: Task[]
}

/** One row of `service ps`. */
export interface TaskView {
  id: string
  /** `web.1` (replicated) or `web.<nodeId>` (global); older tasks of a slot in {@link Orchestrator.serviceTasksView} get a leading ` \_ `. */
  name: string
  /** Hostname of the node, its id if the node is unknown, `''` if unassigned. */
  node: string
  /** `Running`, `Shutdown`, `Remove` */
  desiredState: string
  /** `Running 5 seconds ago` */
  currentState: string
  /** `"no suitable node (insufficien…"` (quoted, cut to 30 characters) or `''`. */
  error: string
}

/** One row of `service ls`. */
export interface ServiceView {
  id: string
  name: string
  mode: 'replicated' | 'global'
  /** `running/desired`, e.g. `2/3` */
  replicas: string
}

/** User input for creating a service; missing fields get swarmkit's defaults. */
export interface ServiceSpecInput {
  name: string
  /** Default `{ replicated: { replicas: 1 } }`. */
  mode?: ServiceMode
  argv: readonly string[]
  env?: Readonly<Record<string, string>>
  networks?: readonly string[]
  /** Default `vip`. */
  endpointMode?: EndpointMode
  health?: Partial<HealthConfig> & { cmd: string }
  restart?: Partial<RestartPolicy>
  update?: Partial<UpdateConfig>
  rollback?: Partial<UpdateConfig>
  placement?: Placement
  resources?: Resources
  /** Complete: the manager allocates missing published ports first. */
  ports?: readonly PublishedPort[]
}

/** A validated, defaulted spec: everything of a {@link Service} but its identity and timestamps. */
export interface ValidatedService {
  name: string
  mode: ServiceMode
  spec: ServiceSpec
  restart: RestartPolicy
  update: UpdateConfig
  rollback: UpdateConfig
}

export interface OrchestratorInit {
  /** Terminal tasks kept per slot (per node for global services). @default 5 */
  historyLimit?: number
  /** Restart delay given to services created without one. @default 5000 */
  defaultRestartDelayMs?: number
  /** Largest replica count accepted. @default 10000 */
  maxReplicas?: number
}

/** Settings the pure functions take; {@link OrchestratorInit} with defaults applied. */
export interface OrchestratorOptions {
  historyLimit: number
  defaultRestartDelayMs: number
  maxReplicas: number
}
