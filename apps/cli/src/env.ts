/** The only place the CLI reads the environment. */
export const env = {
  /** `unix:///path/to.sock` or a path; where the local agent listens. */
  socketPath: (process.env.SWARMNET_HOST ?? 'unix:///run/swarmnet/swarmnet.sock').replace(/^unix:\/\//, ''),
  dataDir: process.env.SWARMNET_DATA_DIR ?? '/var/lib/swarmnet',
  logFile: process.env.SWARMNET_LOG_FILE ?? '/var/log/swarmnet/agent.log',
  logLevel: process.env.SWARMNET_LOG_LEVEL ?? 'info',
  taskLogDir: process.env.SWARMNET_TASK_LOG_DIR ?? '/var/log/swarmnet/tasks',
} as const
