/** `swarmnet exec TASK -- COMMAND`: runs a command in a task's sandbox on this node. */
import path from 'node:path'
import { serviceApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { call } from '../client.js'
import { env } from '../env.js'
import { CliError } from '../errors.js'

/** Where the manager says a task runs (this node may be a worker: then nothing is known). */
async function whereRuns(ref: string): Promise<string | undefined> {
  try {
    for (const s of await call(serviceApi.list, {}, 5_000))
      for (const t of await call(serviceApi.ps, { ref: s.id }, 5_000)) if (t.id.startsWith(ref)) return t.node
  } catch {
    return undefined
  }
  return undefined
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description("Run a command inside a task's sandbox on this node; its exit code is returned")
    .argument('<task>', 'task id or unique id prefix (see service ps)')
    .argument('<command...>', 'command and arguments (after --)')
    .action(async (ref: string, argv: string[]) => {
      if (ref.trim() === '') throw new CliError('invalid task: an id or id prefix is required', 2)
      // the runtime loads only for this verb (service ls/ps must answer at once)
      const [{ systemClock }, { createLogger }, { createRuntime }] = await Promise.all([
        import('@swarmnet/interface'),
        import('@swarmnet/logger'),
        import('@swarmnet/runtime'),
      ])
      const runtime = createRuntime(
        { logger: createLogger({ level: 'error' }), clock: systemClock },
        { stateDir: path.join(env.dataDir, 'tasks'), logDir: env.taskLogDir },
      )
      const matches = (await runtime.list()).filter((t) => t.id.startsWith(ref))
      if (matches.length > 1) throw new CliError(`task id prefix ${ref} is ambiguous`)
      if (matches.length === 0) {
        const node = await whereRuns(ref)
        throw new CliError(
          node === undefined
            ? `no task ${ref} on this node`
            : `task ${ref} runs on node ${node}, not on this one: run exec there`,
        )
      }
      const r = await runtime.exec(matches[0]?.id ?? '', argv, { stdio: 'inherit' })
      process.exitCode = r.exitCode
    })
}
