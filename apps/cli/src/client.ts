/**
 * The CLI's side of the local API, and starting the agent in the background when a command
 * needs one (init, join, agent --detach).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { AbortOptions } from '@swarmnet/interface'
import type { Endpoint } from '@swarmnet/wire'
import { callApi, localApi, RemoteError, UnreachableError } from '@swarmnet/wire'
import type { z } from 'zod'
import { env } from './env.js'
import { CliError } from './errors.js'

/**
 * One call to the local agent. What it refuses comes back as a {@link CliError} with its
 * message (exit code 1); an agent that does not answer, likewise, with a hint.
 */
export async function call<Req extends z.ZodType, Res extends z.ZodType>(
  ep: Endpoint<Req, Res>,
  body: z.input<Req>,
  timeoutMs = 30_000,
  options: AbortOptions = {},
): Promise<z.infer<Res>> {
  try {
    return await callApi({ socketPath: env.socketPath }, ep, body, {
      timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    })
  } catch (err) {
    if (err instanceof UnreachableError)
      throw new CliError(
        `cannot connect to the swarmnet agent at ${env.socketPath}: is it running? (start it with 'swarmnet agent --detach')`,
      )
    if (err instanceof RemoteError) throw new CliError(err.message)
    throw err
  }
}

/** Whether an agent answers on the socket; its pid if so. */
export async function agentPid(): Promise<number | undefined> {
  try {
    return (await callApi({ socketPath: env.socketPath }, localApi.info, {}, { timeoutMs: 3_000 })).pid
  } catch {
    return undefined
  }
}

/**
 * Node flags of the agent process: a small young generation (V8 would grow it to 64 MiB per
 * semi-space and keep it, ~50 MB of an idle agent's RSS). bin/swarmnet gives the foreground
 * agent the same.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2']

/**
 * Starts `swarmnet agent [args]` detached, logging to the agent log; resolves once it answers.
 */
export async function startAgentDetached(args: readonly string[] = [], onWait?: () => void): Promise<number> {
  mkdirSync(path.dirname(env.logFile), { recursive: true })
  const log = openSync(env.logFile, 'a')
  const script = process.argv[1] ?? ''
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv.filter((a) => !a.startsWith('--max-semi-space-size')),
      ...AGENT_NODE_FLAGS,
      script,
      'agent',
      ...args,
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: process.env,
    },
  )
  let exited: number | null | undefined
  child.on('exit', (code) => {
    exited = code
  })
  child.unref()
  const deadline = Date.now() + 60_000
  onWait?.()
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    const pid = await agentPid()
    if (pid !== undefined) return pid
    if (exited !== undefined) {
      const tail = readFileSync(env.logFile, 'utf8').trim().split('\n').slice(-3).join('\n')
      throw new CliError(`the agent exited (code ${exited}) before it was ready; last log lines:\n${tail}`)
    }
    await new Promise((r) => setTimeout(r, delay))
  }
  throw new CliError(`the agent did not answer on ${env.socketPath} within 60 s (log: ${env.logFile})`)
}

/** Makes sure an agent runs, starting one in the background if not. */
export async function ensureAgent(): Promise<void> {
  if ((await agentPid()) !== undefined) return
  await startAgentDetached()
}
