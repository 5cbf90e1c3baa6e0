/**
 * @packageDocumentation
 * Versioned, size-limited message formats of swarmnet and the JSON-over-HTTP layer both
 * control APIs use. Every input from a socket is validated here, at the boundary.
 *
 * @example
 * ```ts
 * import { callApi, localApi } from '@swarmnet/wire'
 * const nodes = await callApi({ socketPath: '/run/swarmnet/swarmnet.sock' }, localApi.nodeList, {})
 * ```
 */
export * from './common.js'
export * from './encryption.js'
export type { Endpoint, Method } from './endpoint.js'
export { endpoint } from './endpoint.js'
export type { ApiTarget, CallOptions, RequestContext, Route } from './http.js'
export {
  callApi,
  createApiHandler,
  createSessionAgent,
  RemoteError,
  route,
  SESSION_IDLE_MS,
  UnreachableError,
} from './http.js'
export { limits } from './limits.js'
export * from './local-api.js'
export * from './manager-api.js'
export * from './netdb.js'
export * from './network-api.js'
export { plainError, plainIssue } from './plain.js'
export * from './ports.js'
export * from './service-api.js'
