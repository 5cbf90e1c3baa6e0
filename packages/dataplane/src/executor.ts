/**
 * The only module that spawns processes.
 *
 * It runs plans by batching: consecutive steps for the same tool and namespace become one
 * `ip [-n NS] -batch -`, `bridge [-n NS] -batch -`, `nft -f -` or `sysctl -w …` process,
 * fed on stdin. Order between batches is the plan's order, so a planner that needs
 * "namespace exists" before "link inside it" just puts the host step first. A batch stops
 * at its first failing line (no `-force`): later lines usually depend on earlier ones, and
 * the next reconcile starts again from observed state.
 *
 * Every argv may be prefixed by `wrap` (e.g. `nsenter -t PID -n -m --`) to act for a
 * simulated host, and every spawn gets the caller's AbortSignal.
 */
import type { AbortOptions } from '@swarmnet/interface'
import { execa } from 'execa'
import { CommandFailedError } from './errors.js'
import type { Plan, Step } from './plan.js'

export interface ExecutorInit {
  /** Prepended to every argv, e.g. `['nsenter', '-t', '1234', '-n', '-m', '--']`. */
  readonly wrap?: readonly string[]
  /** Called with every argv before it is spawned (tests count processes with it). */
  readonly onSpawn?: (argv: readonly string[]) => void
}

export interface RunOptions extends AbortOptions {
  readonly input?: string
}

export interface RunResult {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
}

/** One process of a plan: argv plus what goes to its stdin. */
export interface Batch {
  readonly argv: readonly string[]
  readonly input: string
  readonly steps: number
}

export interface ApplyResult {
  readonly steps: number
  readonly processes: number
}

// A batch line is split on white space by iproute2; quotes, comments and line breaks
// would change its meaning. Planners only emit validated tokens; this is the last guard.
const SAFE_ARG = /^[A-Za-z0-9_.:/@+,=-]+$/

function batchKey(step: Step): string {
  switch (step.tool) {
    case 'ip':
    case 'bridge':
      return `${step.tool} ${step.netns ?? ''}`
    case 'nft':
    case 'sysctl':
      return step.tool
  }
}

function lineOf(step: Step): string {
  switch (step.tool) {
    case 'ip':
    case 'bridge':
      for (const arg of step.args) {
        if (!SAFE_ARG.test(arg))
          throw new TypeError(`unsafe argument in ${step.tool} step: ${JSON.stringify(arg)}`)
      }
      return step.args.join(' ')
    case 'nft':
      return step.script
    case 'sysctl':
      return `${step.key}=${step.value}`
  }
}

/** Pure: how a plan is cut into processes. */
export function toBatches(steps: readonly Step[]): Batch[] {
  const out: Batch[] = []
  let i = 0
  while (i < steps.length) {
    const first = steps[i] as Step
    const key = batchKey(first)
    const lines: string[] = []
    while (i < steps.length && batchKey(steps[i] as Step) === key) {
      lines.push(lineOf(steps[i] as Step))
      i++
    }
    let argv: string[]
    switch (first.tool) {
      case 'ip':
      case 'bridge':
        argv = [first.tool, ...(first.netns === undefined ? [] : ['-n', first.netns]), '-batch', '-']
        break
      case 'nft':
        argv = ['nft', '-f', '-']
        break
      case 'sysctl':
        argv = ['sysctl', '-q', '-w', ...lines]
        break
    }
    out.push({ argv, input: first.tool === 'sysctl' ? '' : `${lines.join('\n')}\n`, steps: lines.length })
  }
  return out
}

export class Executor {
  readonly #wrap: readonly string[]
  readonly #onSpawn: ((argv: readonly string[]) => void) | undefined
  #spawns = 0

  constructor(init: ExecutorInit = {}) {
    this.#wrap = init.wrap ?? []
    this.#onSpawn = init.onSpawn
  }

  /** Processes spawned so far. */
  get spawns(): number {
    return this.#spawns
  }

  /** Runs one command; resolves with its output even when it exits non-zero. */
  async tryRun(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    options?.signal?.throwIfAborted()
    const full = [...this.#wrap, ...argv]
    const [file, ...args] = full
    if (file === undefined) throw new TypeError('empty argv')
    this.#spawns++
    this.#onSpawn?.(full)
    const result = await execa(file, args, {
      input: options?.input ?? '',
      reject: false,
      stripFinalNewline: false,
      maxBuffer: 512 * 1024 * 1024,
      env: { LC_ALL: 'C' },
      ...(options?.signal === undefined ? {} : { cancelSignal: options.signal }),
    })
    if (result.isCanceled) throw options?.signal?.reason ?? new Error('aborted')
    if (result.failed && result.exitCode === undefined) {
      throw new CommandFailedError(full, -1, result.stderr || (result.message ?? 'spawn failed'), {
        cause: result.cause,
      })
    }
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 }
  }

  /** Runs one command; throws CommandFailedError when it exits non-zero. */
  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    const result = await this.tryRun(argv, options)
    if (result.exitCode !== 0)
      throw new CommandFailedError([...this.#wrap, ...argv], result.exitCode, result.stderr)
    return result
  }

  /** Runs a plan batch by batch, in order; stops at the first failing batch. */
  async apply(plan: Plan, options?: AbortOptions): Promise<ApplyResult> {
    let processes = 0
    for (const batch of toBatches(plan.steps)) {
      await this.run(batch.argv, { input: batch.input, ...options })
      processes++
    }
    return { steps: plan.steps.length, processes }
  }
}
