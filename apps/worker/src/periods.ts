/**
 * The agent's periods and timeouts. The defaults suit real hosts; nodes under emulation
 * (the VM tier runs ~15–20× slower) take longer ones. The heartbeat period and the down
 * threshold are the manager's: set them alike on every node.
 */
import { InvalidInputError } from '@swarmnet/interface'
import { DOWN_AFTER_PERIODS, HEARTBEAT_PERIOD_MS, ORCHESTRATE_PERIOD_MS } from '@swarmnet/manager'
import { RECONCILE_PERIOD_MS } from './networks.js'
import { SYNC_PERIOD_MS } from './tasks.js'

export interface AgentPeriods {
  /** Heartbeat to the manager (and, on the manager, the liveness period). */
  heartbeatMs: number
  /** Missed heartbeat periods before the manager declares a node Down (manager only). */
  downAfterPeriods: number
  /** Dispatcher sync: task reports out, assignments in. */
  taskSyncMs: number
  /** Kernel drift check of the overlay dataplane. */
  driftCheckMs: number
  /** Orchestrator pass when nothing wakes it (manager only). */
  orchestrateMs: number
}

export const DEFAULT_PERIODS: Readonly<AgentPeriods> = {
  heartbeatMs: HEARTBEAT_PERIOD_MS,
  downAfterPeriods: DOWN_AFTER_PERIODS,
  taskSyncMs: SYNC_PERIOD_MS,
  driftCheckMs: RECONCILE_PERIOD_MS,
  orchestrateMs: ORCHESTRATE_PERIOD_MS,
}

/** Environment variable of each period (`SWARMNET_HEARTBEAT_MS=15000`). */
export const PERIOD_ENV: Readonly<Record<keyof AgentPeriods, string>> = {
  heartbeatMs: 'SWARMNET_HEARTBEAT_MS',
  downAfterPeriods: 'SWARMNET_DOWN_AFTER_PERIODS',
  taskSyncMs: 'SWARMNET_TASK_SYNC_MS',
  driftCheckMs: 'SWARMNET_DRIFT_CHECK_MS',
  orchestrateMs: 'SWARMNET_ORCHESTRATE_MS',
}

const RANGE: Readonly<Record<keyof AgentPeriods, [number, number]>> = {
  heartbeatMs: [100, 600_000],
  downAfterPeriods: [1, 100],
  taskSyncMs: [50, 600_000],
  driftCheckMs: [100, 3_600_000],
  orchestrateMs: [50, 600_000],
}

/** The periods set in `env` (only those set); a bad value is refused with its name and range. */
export function parsePeriods(env: Readonly<Record<string, string | undefined>>): Partial<AgentPeriods> {
  const out: Partial<AgentPeriods> = {}
  for (const key of Object.keys(PERIOD_ENV) as (keyof AgentPeriods)[]) {
    const name = PERIOD_ENV[key]
    const text = env[name]
    if (text === undefined || text === '') continue
    const [min, max] = RANGE[key]
    const n = Number(text)
    if (!/^[0-9]+$/.test(text) || n < min || n > max)
      throw new InvalidInputError(`${name}='${text}' must be an integer from ${min} to ${max}`)
    out[key] = n
  }
  return out
}

/** The manager's share of the periods. */
export function managerPeriods(p: Partial<AgentPeriods> | undefined) {
  return {
    ...(p?.heartbeatMs ? { heartbeatPeriodMs: p.heartbeatMs } : {}),
    ...(p?.downAfterPeriods ? { downAfterPeriods: p.downAfterPeriods } : {}),
    ...(p?.orchestrateMs ? { orchestratePeriodMs: p.orchestrateMs } : {}),
  }
}
