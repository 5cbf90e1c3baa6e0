/**
 * Waiting for a service to converge, with docker's progress display: an
 * `overall progress: X out of N tasks` line, one line per slot (per node for a global
 * service) with the newest task's state and a bar, then a `verify:` line that waits for the
 * tasks to stay up {@link STABLE_MS} before `Service <id> converged`. On a terminal the block
 * is redrawn in place; otherwise each line is printed when it changes.
 *
 * `service create`, `scale`, `update` and `rollback` use it; during an update or rollback the
 * service converges only once the manager's updater is done ({@link ServiceSnapshot.rollingOut}).
 */
import type { AbortOptions, Clock } from '@swarmnet/interface'
import type { TaskJson } from '@swarmnet/wire'

/** How long the tasks must stay running before the service counts as converged (docker's monitor). */
export const STABLE_MS = 5_000
/** How often the service is looked at. */
export const POLL_MS = 250

/** What the display needs of the service at one moment. */
export interface ServiceSnapshot {
  readonly id: string
  readonly mode: 'replicated' | 'global'
  /** Replicas, or the eligible nodes of a global service. */
  readonly desired: number
  readonly tasks: readonly TaskJson[]
  /** An update or rollback is still rolling out: not converged whatever the tasks do. */
  readonly rollingOut?: boolean
}

export interface ProgressOutput {
  write(text: string): void
  /** Redraw in place (a terminal) rather than print changed lines. */
  readonly isTTY: boolean
}

export interface ConvergeComponents {
  readonly clock: Clock
  /** The service now (throws when it is gone). */
  observe(options: AbortOptions): Promise<ServiceSnapshot>
  /** Where progress goes; none: wait silently (`-q`). */
  readonly out?: ProgressOutput
}

export interface ConvergeInit {
  /** @default {@link STABLE_MS} */
  readonly stableMs?: number
  /** @default {@link POLL_MS} */
  readonly pollMs?: number
}

/** docker's progress states and their place on the bar (`cli/command/service/progress`). */
const PROGRESS_STATES = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
] as const
const BAR_WIDTH = 50
const BAD = new Set(['failed', 'rejected', 'orphaned'])

/** The progress block of one snapshot, and whether every task runs. */
export function progressLines(s: ServiceSnapshot): {
  lines: string[]
  converged: boolean
  running: string[]
} {
  const live = s.tasks.filter((t) => t.desiredState === 'running')
  const running = live.filter((t) => t.state === 'running')
  const lines = [`overall progress: ${Math.min(running.length, s.desired)} out of ${s.desired} tasks`]
  if (s.mode === 'replicated') {
    const newest = newestBy(s.tasks, (t) => String(t.slot))
    for (let slot = 1; slot <= s.desired; slot++)
      lines.push(slotLine(`${slot}/${s.desired}`, newest.get(String(slot))))
  } else {
    const newest = newestBy(s.tasks, (t) => t.nodeId)
    for (const [nodeId, t] of [...newest].sort(([a], [b]) => a.localeCompare(b)))
      if (t.desiredState === 'running') lines.push(slotLine(nodeId.slice(0, 12), t))
  }
  const converged = running.length === s.desired && live.length === s.desired && s.rollingOut !== true
  return { lines, converged, running: running.map((t) => t.id).sort() }
}

/** The newest task of each slot (or node): rows come newest first within a slot. */
function newestBy(tasks: readonly TaskJson[], key: (t: TaskJson) => string): Map<string, TaskJson> {
  const out = new Map<string, TaskJson>()
  for (const t of tasks) {
    const k = key(t)
    const cur = out.get(k)
    if (cur === undefined || (cur.desiredState !== 'running' && t.desiredState === 'running')) out.set(k, t)
  }
  return out
}

function slotLine(label: string, t: TaskJson | undefined): string {
  if (t === undefined) return `${label}: `
  if (BAD.has(t.state) && t.error) return `${label}: ${t.error}`
  const i = PROGRESS_STATES.indexOf(t.state as (typeof PROGRESS_STATES)[number])
  if (i < 0) return `${label}: ${t.state}`
  const filled = Math.round((BAR_WIDTH * (i + 1)) / PROGRESS_STATES.length)
  const bar = `${'='.repeat(filled - 1)}>${' '.repeat(BAR_WIDTH - filled)}`
  return `${label}: ${t.state.padEnd(9)} [${bar}]`
}

/** Draws successive blocks: in place on a terminal, changed lines otherwise. */
export class ProgressDisplay {
  private shown: string[] = []
  constructor(private readonly out: ProgressOutput) {}

  draw(lines: readonly string[]): void {
    if (this.out.isTTY) {
      if (lines.length === this.shown.length && lines.every((l, i) => l === this.shown[i])) return
      // back to the top of the last block, clear it to the end (it may have been longer), redraw
      const up = this.shown.length > 0 ? `\x1b[${this.shown.length}A\x1b[0J` : ''
      this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`)
    } else {
      for (const [i, l] of lines.entries()) if (this.shown[i] !== l) this.out.write(`${l}\n`)
    }
    this.shown = [...lines]
  }
}

/**
 * Resolves once every task of the service runs and has kept running for `stableMs`; shows
 * progress on `out` meanwhile. Never gives up by itself (docker's way): bound it with
 * `signal` (Ctrl-C leaves the service converging on its own).
 */
export async function waitConverged(
  c: ConvergeComponents,
  init: ConvergeInit = {},
  options: AbortOptions = {},
): Promise<void> {
  const stableMs = init.stableMs ?? STABLE_MS
  const pollMs = init.pollMs ?? POLL_MS
  const display = c.out === undefined ? undefined : new ProgressDisplay(c.out)
  let since: number | undefined
  let set = ''
  for (;;) {
    options.signal?.throwIfAborted()
    const s = await c.observe(options)
    const p = progressLines(s)
    const now = c.clock.now()
    const key = p.running.join()
    if (!p.converged) since = undefined
    else if (since === undefined || key !== set) {
      since = now
      set = key
    }
    const verify =
      since === undefined
        ? []
        : now - since >= stableMs
          ? [`verify: Service ${s.id} converged`]
          : [
              `verify: Waiting ${Math.ceil((stableMs - (now - since)) / 1000)} seconds to verify that tasks are stable...`,
            ]
    display?.draw([...p.lines, ...verify])
    if (since !== undefined && now - since >= stableMs) return
    await c.clock.sleep(pollMs, options)
  }
}
