/** The one place the version lives for the CLI and the agent. */
export const SWARMNET_VERSION = '0.1.0'
