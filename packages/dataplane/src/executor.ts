/**
 * The only module that spawns processes.
 *
 * It runs plans by batching: consecutive steps for the same tool and namespace become one
 * `ip [-n NS] -batch -`, `bridge [-n NS] -batch -`, `nft -f -`, `sysctl -w …`,
 * `conntrack -R -`, `ipvsadm -R` or `iptables-restore --noflush` (filter table) process, fed
 * on stdin (the last five run in a namespace through `ip netns exec NS`). Order between batches is the plan's order, so a planner that needs
 * "namespace exists" before "link inside it" just puts the host step first. A batch stops
 * at its first failing line (no `-force`): later lines usually depend on earlier ones.
 * When the failing step has owners (a network, an endpoint), those owners are marked failed,
 * every later step of theirs is dropped, and the rest goes on from the line after the failure
 * (`nft -f` is atomic: its whole batch again); when the tool does not say which line failed
 * (`ipvsadm -R`, `conntrack -R`, `sysctl`) every owner of the batch fails with it; a
 * failure of an ownerless (node-wide) step stops the plan. The next reconcile starts again from observed state either way.
 * Two consecutive batches of one step group (a namespace's neighbour and FDB entries) run at
 * the same time; their failures are then handled one after the other, as above.
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
  /** Called with every argv and its stdin before it is spawned (tests count processes with it). */
  readonly onSpawn?: (argv: readonly string[], input: string) => void
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
  /** Owners whose steps failed (or were dropped with them): owner → error. */
  readonly failed: ReadonlyMap<string, string>
}

// A batch line is split on white space by iproute2; quotes, comments and line breaks
// would change its meaning. Planners only emit validated tokens; this is the last guard.
// Parentheses are plain characters to iproute2's batch reader (`rfc4106(gcm(aes))`).
const SAFE_ARG = /^[A-Za-z0-9_.:/@+,=()-]+$/
// iptables negates with a lone `!`
const SAFE_IPTABLES_ARG = /^(!|[A-Za-z0-9_.:/@+,=-]+)$/

function batchKey(step: Step): string {
  const group = step.group === undefined ? '' : ` ${step.group}`
  return `${step.tool} ${step.netns ?? ''}${group}`
}

function lineOf(step: Step): string {
  switch (step.tool) {
    case 'ip':
    case 'bridge':
    case 'conntrack':
    case 'ipvs':
      for (const arg of step.args) {
        if (!SAFE_ARG.test(arg))
          throw new TypeError(`unsafe argument in ${step.tool} step: ${JSON.stringify(arg)}`)
      }
      return step.args.join(' ')
    case 'iptables':
      for (const arg of step.args) {
        if (!SAFE_IPTABLES_ARG.test(arg))
          throw new TypeError(`unsafe argument in iptables step: ${JSON.stringify(arg)}`)
      }
      return step.args.join(' ')
    case 'nft':
      return step.script
    case 'sysctl':
      if (!SAFE_ARG.test(step.key) || !SAFE_ARG.test(step.value))
        throw new TypeError(`unsafe sysctl step: ${JSON.stringify(`${step.key}=${step.value}`)}`)
      return `${step.key}=${step.value}`
  }
}

const netnsExec = (netns: string | undefined): string[] =>
  netns === undefined ? [] : ['ip', 'netns', 'exec', netns]

/** Pure: how a plan is cut into processes. */
export function toBatches(steps: readonly Step[]): Batch[] {
  const out: Batch[] = []
  let i = 0
  while (i < steps.length) {
    const b = firstBatch(steps.slice(i))
    out.push(b)
    i += b.steps
  }
  return out
}

/** The process for the longest run of steps at the head of `steps` with one (tool, namespace). */
function firstBatch(steps: readonly Step[]): Batch {
  const first = steps[0] as Step
  const key = batchKey(first)
  const lines: string[] = []
  while (lines.length < steps.length && batchKey(steps[lines.length] as Step) === key)
    lines.push(lineOf(steps[lines.length] as Step))
  let argv: string[]
  switch (first.tool) {
    case 'ip':
    case 'bridge':
      argv = [first.tool, ...(first.netns === undefined ? [] : ['-n', first.netns]), '-batch', '-']
      break
    case 'nft':
      argv = [...netnsExec(first.netns), 'nft', '-f', '-']
      break
    case 'sysctl':
      argv = [...netnsExec(first.netns), 'sysctl', '-q', '-w', ...lines]
      break
    case 'conntrack':
      // conntrack opens "-" as /dev/stdin by name, which fails on the socket a child gets
      // as stdin from Node; `cat |` hands it a real pipe
      argv = [...netnsExec(first.netns), 'sh', '-c', 'cat | exec conntrack -R -']
      break
    case 'ipvs':
      // not `ipvsadm-restore`: that wrapper clears every IPVS service (`ipvsadm -C`) before
      // reading, which turns a delta into "only these services"
      argv = [...netnsExec(first.netns), 'ipvsadm', '-R']
      break
    case 'iptables':
      // --noflush: only these lines change the filter table, the rest of it stays as it is
      argv = [...netnsExec(first.netns), 'iptables-restore', '--noflush']
      return { argv, input: `*filter\n${lines.join('\n')}\nCOMMIT\n`, steps: lines.length }
  }
  return { argv, input: first.tool === 'sysctl' ? '' : `${lines.join('\n')}\n`, steps: lines.length }
}

/** The batch after `head` when both belong to one step group (they may run side by side). */
function pairedBatch(steps: readonly Step[], head: Batch): Batch | undefined {
  const group = steps[0]?.group
  const next = steps[head.steps]
  if (group === undefined || next === undefined || next.group !== group) return undefined
  return firstBatch(steps.slice(head.steps))
}

/**
 * Pure: which step of a failed batch failed, from the tool's message (`Command failed -:N`
 * from ip/bridge, `/dev/stdin:N:` from nft, N counting input lines), or undefined.
 */
export function failedStep(steps: readonly Step[], stderr: string): number | undefined {
  const first = steps[0]
  if (first === undefined) return undefined
  if (first.tool !== 'nft' && first.tool !== 'ip' && first.tool !== 'bridge') return undefined
  const m = first.tool === 'nft' ? /\/dev\/stdin:(\d+):/.exec(stderr) : /Command failed -:(\d+)/.exec(stderr)
  if (m === null) return undefined
  let line = Number(m[1])
  for (let i = 0; i < steps.length; i++) {
    line -= lineOf(steps[i] as Step).split('\n').length
    if (line <= 0) return i
  }
  return undefined
}

export class Executor {
  readonly #wrap: readonly string[]
  readonly #onSpawn: ((argv: readonly string[], input: string) => void) | undefined
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
    this.#onSpawn?.(full, options?.input ?? '')
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

  /**
   * Runs a plan batch by batch, in order. A failed step with owners fails those owners only
   * (see the module note); a failed ownerless step throws.
   */
  async apply(plan: Plan, options?: AbortOptions): Promise<ApplyResult> {
    let processes = 0
    const failed = new Map<string, string>()
    let rest = plan.steps
    while (rest.length > 0) {
      const head = firstBatch(rest)
      const pair = pairedBatch(rest, head)
      const batches = pair === undefined ? [head] : [head, pair]
      const results = await Promise.all(
        batches.map((b) => this.tryRun(b.argv, { input: b.input, ...options })),
      )
      processes += batches.length
      let offset = 0
      let failedAt: { batch: Batch; steps: readonly Step[]; stderr: string; exitCode: number } | undefined
      for (const [i, b] of batches.entries()) {
        const r = results[i] as RunResult
        if (r.exitCode !== 0) {
          failedAt = { batch: b, steps: rest.slice(offset, offset + b.steps), ...r }
          break
        }
        offset += b.steps
      }
      if (failedAt === undefined) {
        rest = rest.slice(offset)
        continue
      }
      rest = rest.slice(offset)
      const { batch, steps, stderr, exitCode } = failedAt
      const at = failedStep(steps, stderr)
      // the failing line unknown: every step of the batch is suspect
      const suspects = at === undefined ? steps : [steps[at] as Step]
      const culprits = suspects.map((s) => s.owners?.[0])
      if (culprits.some((o) => o === undefined))
        throw new CommandFailedError([...this.#wrap, ...batch.argv], exitCode, stderr)
      const why = stderr.trim().split('\n')[0] || `exit ${exitCode}`
      const culprit = culprits[0] as string
      for (const o of culprits) failed.set(o as string, why)
      // what needs the failed owner goes too (an endpoint on a failed network)
      const drop = (s: Step): boolean => s.owners?.some((o) => failed.has(o)) === true
      const applied = at === undefined || (steps[0] as Step).tool === 'nft' ? 0 : at
      const remaining = rest.slice(applied)
      for (const s of remaining)
        if (drop(s)) {
          const mine = s.owners?.[0]
          if (mine !== undefined && !failed.has(mine)) failed.set(mine, `needs ${culprit}: ${why}`)
        }
      rest = remaining.filter((s) => !drop(s))
    }
    return { steps: plan.steps.length, processes, failed }
  }
}
