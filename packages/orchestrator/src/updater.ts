/**
 * The updater (swarmkit's `orchestrator/update`): rolls a service's tasks over to its current
 * spec, slot by slot, after `service update` or `service rollback`. Level-triggered and pure:
 * each pass looks at the service's `updateStatus` and its tasks and says what to stop and create;
 * all its state is the service record and the tasks (a manager restart resumes where it was).
 *
 * A slot is dirty while its task runs another spec. Up to `parallelism` slots are in flight at
 * once; a slot stays busy until its new task runs (and is healthy), then `delay` longer.
 * stop-first stops the old task as the new one is created; start-first keeps it running until
 * the new one runs. A new task that ends within `monitor` of running is a failure; more failures
 * than `maxFailureRatio` of the slots trigger the failure action: `pause`, `continue`, or
 * `rollback` to the previous spec. The update completes once no slot is dirty or in flight and
 * the last new task has run for `monitor`.
 */
import { newerFirst } from './reconcile.js'
import { isTerminal, isUndispatched } from './states.js'
import { isReady, sameTaskSpec, specOfTask, taskSpecOf } from './task-spec.js'
import type { Service, Task, UpdateConfig, UpdateStatus } from './types.js'
import { DEFAULT_UPDATE_CONFIG, MANUAL_ROLLBACK, rollbackService } from './update-config.js'

export interface UpdaterInput {
  services: readonly Service[]
  tasks: readonly Task[]
  /** Milliseconds since the epoch. */
  now: number
  newId: () => string
}

export interface UpdaterResult {
  /** Services whose `updateStatus` (or, on an automatic rollback, spec) changed. */
  services: Service[]
  /** New tasks for updated slots (state `new`). */
  create: Task[]
  /** Old tasks asked to stop (whole tasks). */
  update: Task[]
}

/** An update or rollback is being rolled out. */
export function isRollingOut(s: Service): boolean {
  return s.updateStatus?.state === 'updating' || s.updateStatus?.state === 'rollback_started'
}

/** When the task became ready (ran, and was healthy if checked). */
function readyAt(t: Task): number {
  return t.runningAt ?? t.statusAt
}

interface Plan {
  /** Slots (or nodes) still on another spec: their tasks that want to run, newest first. */
  dirty: Array<{ key: number | string; heads: Task[] }>
  /** Slots whose new task does not run yet. */
  inFlight: number
  /** Slots whose new task ran less than `delay` ago. */
  delaying: number
  /** A new task ran less than `monitor` ago. */
  monitoring: boolean
  /** Start-first tasks whose replacement now runs. */
  replaced: Task[]
  /** This update's new tasks that ended early, oldest first. */
  failed: Task[]
  slots: number
}

function plan(
  s: Service,
  status: UpdateStatus,
  cfg: UpdateConfig,
  tasks: readonly Task[],
  now: number,
): Plan {
  const want = taskSpecOf(s)
  const own = tasks.filter((t) => t.serviceId === s.id)
  const groups = new Map<number | string, Task[]>()
  for (const t of own) {
    const key = 'replicated' in s.mode ? t.slot : t.nodeId
    if ('replicated' in s.mode ? t.slot < 1 || t.slot > s.mode.replicated.replicas : t.nodeId === '') continue
    groups.set(key, [...(groups.get(key) ?? []), t])
  }
  const p: Plan = {
    dirty: [],
    inFlight: 0,
    delaying: 0,
    monitoring: false,
    replaced: [],
    failed: [],
    slots: 0,
  }
  p.slots = 'replicated' in s.mode ? s.mode.replicated.replicas : groups.size
  const isNew = (t: Task): boolean => t.createdAt >= status.startedAt && sameTaskSpec(specOfTask(t, s), want)
  for (const [key, group] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const heads = group.filter((t) => t.desiredState === 'running').sort(newerFirst)
    const clean = heads.find((h) => sameTaskSpec(specOfTask(h, s), want))
    const old = heads.filter((h) => h !== clean && !sameTaskSpec(specOfTask(h, s), want))
    if (clean === undefined) {
      if (old.length > 0) p.dirty.push({ key, heads: old })
      continue
    }
    if (!isReady(clean)) {
      // a new task that ended: the slot's update is over (failed); the restart policy has it
      if (isNew(clean) && !isTerminal(clean.state)) p.inFlight++
      continue
    }
    p.replaced.push(...old.filter((t) => !isTerminal(t.state)))
    if (!isNew(clean)) continue
    const at = readyAt(clean)
    if (now - at < cfg.delayMs) p.delaying++
    if (now - at < cfg.monitorMs) p.monitoring = true
  }
  p.failed = own
    .filter(
      (t) =>
        isNew(t) &&
        (t.state === 'failed' || t.state === 'rejected' || t.state === 'complete') &&
        (t.runningAt === undefined || t.statusAt - t.runningAt < cfg.monitorMs),
    )
    .sort((a, b) => a.statusAt - b.statusAt)
  return p
}

function stopped(t: Task, now: number): Task {
  const next: Task = { ...t, desiredState: 'shutdown', updatedAt: now }
  if (isUndispatched(t.state)) {
    next.state = 'shutdown'
    next.statusAt = now
  }
  return next
}

/** One step of every rollout in progress; see the module comment. */
export function advanceUpdates(input: UpdaterInput): UpdaterResult {
  const out: UpdaterResult = { services: [], create: [], update: [] }
  const { now } = input
  for (const s of input.services) {
    const status = s.updateStatus
    if (status === undefined || !isRollingOut(s)) continue
    const rollingBack = status.state === 'rollback_started'
    const cfg = (rollingBack ? s.rollback : s.update) ?? DEFAULT_UPDATE_CONFIG
    const p = plan(s, status, cfg, input.tasks, now)
    for (const t of p.replaced) out.update.push(stopped(t, now))
    const failure = p.failed.at(-1)
    if (
      failure !== undefined &&
      cfg.failureAction !== 'continue' &&
      p.failed.length / Math.max(1, p.slots) > cfg.maxFailureRatio
    ) {
      const what = `failure or early termination of task ${failure.id}`
      if (cfg.failureAction === 'rollback' && !rollingBack && s.previous !== undefined) {
        out.services.push(rollbackService(s, now, `update rolled back due to ${what}`))
      } else {
        const state = rollingBack ? 'rollback_paused' : 'paused'
        const message = `${rollingBack ? 'rollback' : 'update'} paused due to ${what}`
        out.services.push({ ...s, updateStatus: { ...status, state, message } })
      }
      continue
    }
    if (p.dirty.length === 0 && p.inFlight === 0 && !p.monitoring) {
      const state = rollingBack ? 'rollback_completed' : 'completed'
      // an automatic rollback keeps its reason
      const message = !rollingBack
        ? 'update completed'
        : status.message === MANUAL_ROLLBACK
          ? 'rollback completed'
          : `rollback completed (${status.message})`
      out.services.push({ ...s, updateStatus: { ...status, state, message, completedAt: now } })
      continue
    }
    const width = cfg.parallelism === 0 ? Number.POSITIVE_INFINITY : cfg.parallelism
    const free = Math.max(0, width - p.inFlight - p.delaying)
    for (const { key, heads } of p.dirty.slice(0, free)) {
      const [newest] = heads
      if (newest === undefined) continue
      if (cfg.order === 'stop-first') for (const t of heads) out.update.push(stopped(t, now))
      const attempt = newest.attempt + 1
      out.create.push({
        id: input.newId(),
        serviceId: s.id,
        slot: typeof key === 'number' ? key : 0,
        nodeId: typeof key === 'string' ? key : '',
        desiredState: 'running',
        state: 'new',
        error: '',
        createdAt: now,
        updatedAt: now,
        statusAt: now,
        attempt,
        attemptBase: attempt,
        spec: taskSpecOf(s),
        ...(cfg.order === 'start-first' && !isTerminal(newest.state) ? { replaces: newest.id } : {}),
      })
    }
  }
  return out
}
