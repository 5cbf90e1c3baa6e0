/** In-memory stand-ins for the task agent's components (runtime, networks, dispatcher). */
import type { AbortOptions } from '@swarmnet/interface'
import type { Runtime, TaskInfo, TaskSpec, TaskStatus } from '@swarmnet/runtime'
import { TaskExistsError } from '@swarmnet/runtime'
import type { Assignment, EndpointView, TaskReport } from '@swarmnet/wire'

/** A gate a fake holds its callers at until the test opens it. */
class Gate {
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
  readonly tasks = new Map<string, { state: 'running' | 'exited'; exitCode?: number }>()
  readonly starts: string[] = []
  readonly startGate = new Gate()

  running(): string[] {
    return [...this.tasks].filter(([, t]) => t.state === 'running').map(([id]) => id)
  }
  exit(id: string, exitCode: number): void {
    this.tasks.set(id, { state: 'exited', exitCode })
  }
  async start(task: TaskSpec): Promise<TaskStatus> {
    if (this.tasks.has(task.id)) throw new TaskExistsError(task.id)
    this.tasks.set(task.id, { state: 'running' })
    this.starts.push(task.id)
    await this.startGate.pass()
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
  async list(): Promise<TaskInfo[]> {
    return [...this.tasks].map(([id, t]) => ({ id, netns: `sn-ep-${id}`, ...t }) as TaskInfo)
  }
  async logs(): Promise<string> {
    return ''
  }
  async exec(): Promise<never> {
    throw new Error('not in the fake')
  }
}

export class FakeNetworks {
  readonly sandboxes = new Set<string>()
  readonly attaching: string[] = []
  readonly #attachGate = new Gate()

  holdAttach(): void {
    this.#attachGate.close()
  }
  releaseAttach(): void {
    this.#attachGate.open()
  }
  async attach(
    _network: string,
    id: string,
    _o?: AbortOptions,
  ): Promise<EndpointView & { namespace: string }> {
    this.attaching.push(id)
    await this.#attachGate.pass()
    this.sandboxes.add(id)
    return {} as EndpointView & { namespace: string }
  }
  async sandbox(id: string): Promise<void> {
    this.sandboxes.add(id)
  }
  async has(id: string): Promise<boolean> {
    return this.sandboxes.has(id)
  }
  async detach(id: string): Promise<void> {
    this.sandboxes.delete(id)
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

  answerWith(assignments: Assignment[]): void {
    this.#assignments = assignments
  }
  holdNext(): void {
    this.#hold = true
  }
  releaseHeld(): void {
    this.#held?.()
    this.#held = undefined
  }
  lastReports(): TaskReport[] {
    return this.#perCall.at(-1) ?? []
  }
  async sync(req: { reports: TaskReport[] }): Promise<{ assignments: Assignment[]; wantLogs: string[] }> {
    this.calls++
    this.reports.push(...req.reports)
    this.#perCall.push(req.reports)
    if (this.#hold) {
      this.#hold = false
      await new Promise<void>((r) => {
        this.#held = r
      })
    }
    return { assignments: this.#assignments, wantLogs: [] }
  }
}
