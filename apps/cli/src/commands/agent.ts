/** `swarmnet agent`: the node agent in the foreground (systemd) or detached. */

import type { LogLevel } from '@swarmnet/logger'
import type { Command } from 'commander'
import { collectUpstream } from '../args.js'
import { agentPid, startAgentDetached } from '../client.js'
import { env } from '../env.js'
import { CliError } from '../errors.js'
import { SWARMNET_VERSION } from '../version.js'

/** The agent's process name (≤ 15 characters, so /proc/PID/comm holds all of it). */
export const AGENT_PROCESS_TITLE = 'swarmnet-agent'

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('Run the node agent (foreground; --detach to run it in the background)')
    .option('-d, --detach', 'start in the background and return once it is ready')
    .option('--data-dir <dir>', 'state directory', env.dataDir)
    .option('--metrics-addr <ip:port>', 'serve Prometheus metrics on GET /metrics there (default: off)')
    .option(
      '--lb-backend <backend>',
      'service load balancer: auto (nftables for now), nftables or ipvs (not working yet)',
      'auto',
    )
    .option(
      '--dns-upstream <ip[:port]>',
      "tasks' resolver forwards other names here (over what init/join set)",
      collectUpstream,
    )
    .action(
      async (o: {
        detach?: boolean
        dataDir: string
        metricsAddr?: string
        lbBackend: string
        dnsUpstream?: string[]
      }) => {
        if (o.metricsAddr !== undefined) await checkMetricsAddr(o.metricsAddr)
        if (o.lbBackend !== 'auto' && o.lbBackend !== 'ipvs' && o.lbBackend !== 'nftables')
          throw new CliError(`invalid --lb-backend '${o.lbBackend}': expected auto, ipvs or nftables`, 2)
        const lbBackend = o.lbBackend
        if (process.getuid?.() !== 0) throw new CliError('the agent programs the kernel: run it as root')
        const running = await agentPid()
        if (running !== undefined)
          throw new CliError(`an agent is already running on ${env.socketPath} (pid ${running})`)
        // periods from the environment: checked here, so a bad one fails before anything starts
        // (the worker, and its parser, load only when one is set or the agent runs here)
        const periodsSet = Object.keys(env.vars).some((k) => /^SWARMNET_[A-Z_]+_(MS|PERIODS)$/.test(k))
        const periods = periodsSet ? await loadPeriods() : {}
        if (o.detach) {
          const pid = await startAgentDetached([
            ...(o.metricsAddr === undefined ? [] : ['--metrics-addr', o.metricsAddr]),
            ...(lbBackend === 'auto' ? [] : ['--lb-backend', lbBackend]),
            ...(o.dnsUpstream ?? []).flatMap((u) => ['--dns-upstream', u]),
          ])
          console.log(`swarmnet agent started (pid ${pid}, log ${env.logFile})`)
          return
        }
        // the agent (libp2p, level, forge, the dataplane) loads only for this verb, with source
        // maps on so that its logged stacks name the .ts lines
        process.setSourceMapsEnabled(true)
        // `pgrep -x swarmnet-agent` and ps show the agent by this name (comm and argv)
        process.title = AGENT_PROCESS_TITLE
        const [{ systemClock }, { createLogger }, { createAgent }] = await Promise.all([
          import('@swarmnet/interface'),
          import('@swarmnet/logger'),
          import('@swarmnet/worker'),
        ])
        const logger = createLogger({ component: 'swarmnet', level: env.logLevel as LogLevel })
        const agent = createAgent(
          { logger, clock: systemClock },
          {
            dataDir: o.dataDir,
            socketPath: env.socketPath,
            taskLogDir: env.taskLogDir,
            version: SWARMNET_VERSION,
            periods,
            ...(o.metricsAddr !== undefined ? { metricsAddr: o.metricsAddr } : {}),
            lbBackend,
            ...(o.dnsUpstream !== undefined ? { dnsUpstreams: o.dnsUpstream } : {}),
          },
        )
        await agent.start()
        const { promise, resolve } = Promise.withResolvers<void>()
        const stop = (sig: string): void => {
          logger.info('stopping', { signal: sig })
          agent.stop().then(resolve, resolve)
        }
        process.once('SIGTERM', () => stop('SIGTERM'))
        process.once('SIGINT', () => stop('SIGINT'))
        await promise
      },
    )
}

async function loadPeriods() {
  const { parsePeriods } = await import('@swarmnet/worker')
  try {
    return parsePeriods(env.vars)
  } catch (err) {
    throw new CliError((err as Error).message, 2)
  }
}

async function checkMetricsAddr(addr: string): Promise<void> {
  const { parseMetricsAddr } = await import('@swarmnet/worker')
  try {
    parseMetricsAddr(addr)
  } catch (err) {
    throw new CliError((err as Error).message, 2)
  }
}
