/** The only place the CLI reads the environment. */
export const env = {
  /** `unix:///path/to.sock` or a path; where the local agent listens. */
  socketPath: (process.env.SWARMNET_HOST ?? 'unix:///run/swarmnet/swarmnet.sock').replace(/^unix:\/\//, ''),
  dataDir: process.env.SWARMNET_DATA_DIR ?? '/var/lib/swarmnet',
  logFile: process.env.SWARMNET_LOG_FILE ?? '/var/log/swarmnet/agent.log',
  logLevel: process.env.SWARMNET_LOG_LEVEL ?? 'info',
  taskLogDir: process.env.SWARMNET_TASK_LOG_DIR ?? '/var/log/swarmnet/tasks',
  /** The environment, for the agent's periods (`SWARMNET_HEARTBEAT_MS`, …; parsed by the agent). */
  vars: process.env as Readonly<Record<string, string | undefined>>,
} as const
