/** In-memory stand-ins for the task agent's components (runtime, networks, dispatcher). */
import type { Entry, Netdb } from '@swarmnet/netdb'
import type { CgroupInfo, Runtime, TaskInfo, TaskSpec, TaskStatus } from '@swarmnet/runtime'
import { TaskExistsError } from '@swarmnet/runtime'
import type { Assignment, TaskReport } from '@swarmnet/wire'
import type { SandboxRequest } from '../src/networks.js'

/** A gate a fake holds its callers at until the test opens it. */
export class Gate {
  #open = true
  #waiters: Array<() => void> = []
  close(): void {
    this.#open = false
  }
  open(): void {
    this.#open = true
    for (const w of this.#waiters.splice(0)) w()
  }
  async pass(): Promise<void> {
    if (!this.#open) await new Promise<void>((r) => this.#waiters.push(r))
  }
}

export class FakeRuntime implements Runtime {
  readonly tasks = new Map<string, { state: 'running' | 'exited' | 'unknown'; exitCode?: number }>()
  readonly starts: string[] = []
  readonly startGate = new Gate()
  failStart: Error | undefined

  running(): string[] {
    return [...this.tasks].filter(([, t]) => t.state === 'running').map(([id]) => id)
  }
  exit(id: string, exitCode: number): void {
    this.tasks.set(id, { state: 'exited', exitCode })
  }
  async start(task: TaskSpec): Promise<TaskStatus> {
    if (this.tasks.has(task.id)) throw new TaskExistsError(task.id)
    if (this.failStart) {
      this.tasks.set(task.id, { state: 'exited', exitCode: 127 })
      throw this.failStart
    }
    // like the real runtime: a record without a pid while it spawns
    this.tasks.set(task.id, { state: 'unknown' })
    this.starts.push(task.id)
    await this.startGate.pass()
    this.tasks.set(task.id, { state: 'running' })
    return { state: 'running' }
  }
  async status(id: string): Promise<TaskStatus> {
    return this.tasks.get(id) ?? { state: 'unknown' }
  }
  async wait(id: string): Promise<TaskStatus> {
    return this.status(id)
  }
  async stop(id: string): Promise<TaskStatus> {
    const t = this.tasks.get(id)
    if (t?.state === 'running') this.tasks.set(id, { state: 'exited', exitCode: 143 })
    return this.status(id)
  }
  async remove(id: string): Promise<void> {
    this.tasks.delete(id)
  }
  /** Holds `list` callers after they took their snapshot. */
  readonly listGate = new Gate()
  async list(): Promise<TaskInfo[]> {
    const snapshot = [...this.tasks].map(([id, t]) => ({ id, netns: `sn-ep-${id}`, ...t }) as TaskInfo)
    await this.listGate.pass()
    return snapshot
  }
  async logs(): Promise<string> {
    return ''
  }
  /** The options of each readLog call, by task. */
  readonly logReads: Array<{ id: string; from?: number; tail?: number }> = []
  async stampOutput(): Promise<void> {}
  async readLog(
    id: string,
    o: { from?: number; tail?: number } = {},
  ): Promise<{ text: string; end: number; stamps: Array<[number, number]> }> {
    this.logReads.push({
      id,
      ...(o.from !== undefined ? { from: o.from } : {}),
      ...(o.tail !== undefined ? { tail: o.tail } : {}),
    })
    return { text: `output of ${id}\n`, end: 42, stamps: [[42, 1_000]] }
  }
  async rotateLog(): Promise<boolean> {
    return false
  }
  async exec(): Promise<never> {
    throw new Error('not in the fake')
  }
  async cgroups(): Promise<CgroupInfo> {
    return { mode: 'none', paths: {}, reason: 'the fake has none' }
  }
  async releaseCgroups(): Promise<void> {}
  async cpuUsage(): Promise<undefined> {
    return undefined
  }
}

export class FakeNetworks {
  readonly sandboxes = new Set<string>()
  readonly preparing: string[] = []
  /** Each call of prepare/release: the ids of one burst (one reconcile). */
  readonly bursts: string[][] = []
  readonly #gate = new Gate()
  failPrepare: Error | undefined
  /** Sandboxes the kernel refuses (id → its error); the rest of a burst is programmed. */
  readonly refuse = new Map<string, string>()

  holdPrepare(): void {
    this.#gate.close()
  }
  releasePrepare(): void {
    this.#gate.open()
  }
  async prepare(
    requests: readonly SandboxRequest[],
  ): Promise<{ created: Set<string>; failed: Map<string, string> }> {
    this.preparing.push(...requests.map((r) => r.id))
    this.bursts.push(requests.map((r) => r.id))
    await this.#gate.pass()
    if (this.failPrepare) throw this.failPrepare
    const created = new Set(requests.map((r) => r.id).filter((id) => !this.sandboxes.has(id)))
    const failed = new Map<string, string>()
    for (const r of requests) {
      const why = this.refuse.get(r.id)
      if (why === undefined) this.sandboxes.add(r.id)
      else failed.set(r.id, why)
    }
    return { created, failed }
  }
  /** Each disable and release, in order: `disable:<id>` / `release:<id>`. */
  readonly events: string[] = []
  /** What `disable` sees of the runtime when it is called (set by a test). */
  onDisable: ((ids: readonly string[]) => void) | undefined
  async disable(ids: readonly string[]): Promise<void> {
    this.onDisable?.(ids)
    this.events.push(...ids.map((id) => `disable:${id}`))
  }
  async enable(ids: readonly string[]): Promise<void> {
    this.events.push(...ids.map((id) => `enable:${id}`))
  }
  async release(ids: readonly string[]): Promise<void> {
    this.events.push(...ids.map((id) => `release:${id}`))
    for (const id of ids) this.sandboxes.delete(id)
  }
  async taskIds(): Promise<string[]> {
    return [...this.sandboxes]
  }
  namespaceOf(id: string): string {
    return `sn-ep-${id}`
  }
}

/** Answers each sync with the assignments set last; can hold one answer back. */
export class ScriptedDispatcher {
  calls = 0
  readonly reports: TaskReport[] = []
  #perCall: TaskReport[][] = []
  #assignments: Assignment[] = []
  #hold = false
  #held: (() => void) | undefined
  /** The `held` list of each call. */
  readonly helds: string[][] = []

  answerWith(assignments: Assignment[]): void {
    this.#assignments = assignments
  }
  holdNext(): void {
    this.#hold = true
  }
  #wantLogs: { ids: string[]; from: Record<string, number> } | undefined
  /** The next answer asks for these tasks' output (from these positions). */
  wantLogsOnce(ids: string[], from: Record<string, number> = {}): void {
    this.#wantLogs = { ids, from }
  }
  releaseHeld(): void {
    this.#held?.()
    this.#held = undefined
  }
  lastReports(): TaskReport[] {
    return this.#perCall.at(-1) ?? []
  }
  async sync(req: {
    reports: TaskReport[]
    held: string[]
  }): Promise<{ assignments: Assignment[]; wantLogs: string[]; wantLogsFrom?: Record<string, number> }> {
    this.calls++
    this.helds.push([...req.held].sort())
    this.reports.push(...req.reports)
    this.#perCall.push(req.reports)
    if (this.#hold) {
      this.#hold = false
      await new Promise<void>((r) => {
        this.#held = r
      })
    }
    const want = this.#wantLogs
    this.#wantLogs = undefined
    if (want !== undefined)
      return { assignments: this.#assignments, wantLogs: want.ids, wantLogsFrom: want.from }
    return { assignments: this.#assignments, wantLogs: [] }
  }
}

/** A netdb whose entries the test sets; `emit` fires its change event; joins are recorded in `joined`. */
export function fakeNetdb(
  entries: Entry[] = [],
  networks: string[] = ['n1'],
  joined: string[] = [],
): Netdb & { emit(network: string): void } {
  let listener: ((network: string) => void) | undefined
  return {
    start: async () => undefined,
    stop: async () => undefined,
    join: async (n: string) => {
      joined.push(n)
    },
    leave: async () => undefined,
    setLocal: async () => undefined,
    entries: (): Entry[] => entries,
    networks: () => networks,
    on: (_event: string, l: (network: string) => void) => {
      listener = l
      return () => undefined
    },
    emit: (network: string) => listener?.(network),
  } as Partial<Netdb> as Netdb & { emit(network: string): void }
}
