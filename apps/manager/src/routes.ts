/**
 * The manager API's route table (TCP 2377): `ca` and `join` answer anyone; every other route
 * first names its caller from the session's verified certificate, never from the body.
 */

import { ConflictError } from '@swarmnet/interface'
import type { RequestContext } from '@swarmnet/wire'
import { dispatcherApi, managerApi, route } from '@swarmnet/wire'
import type { z } from 'zod'
import type { JoinRequest } from './join.js'
import type { NetworkService } from './networks.js'
import { ESP_CAPABILITY } from './placement.js'
import type { ClusterRecord, NodeRecord } from './records.js'
import type { ServiceController } from './services.js'

export type HeartbeatRequest = z.infer<typeof managerApi.heartbeat.request>
export type HeartbeatResponse = z.input<typeof managerApi.heartbeat.response>

/** What the routes need of the manager. */
export interface RouteDeps {
  caller(ctx: RequestContext): Promise<NodeRecord>
  cluster(): Promise<ClusterRecord>
  join(req: JoinRequest): Promise<z.input<typeof managerApi.join.response>>
  heartbeat(n: NodeRecord, req: HeartbeatRequest): Promise<HeartbeatResponse>
  renew(n: NodeRecord, csrPem: string): Promise<{ certPem: string }>
  /** The node was heard from (liveness). */
  seen(nodeId: string): void
  services(): Promise<ServiceController>
  networks(): Promise<NetworkService>
  leave(nodeId: string): Promise<void>
}

export function managerRoutes(d: RouteDeps) {
  return [
    route(managerApi.ca, async () => ({ caPem: (await d.cluster()).caCertPem })),
    route(managerApi.join, (req) => d.join(req)),
    route(managerApi.heartbeat, async (req, ctx) => d.heartbeat(await d.caller(ctx), req)),
    route(managerApi.renew, async (req, ctx) => d.renew(await d.caller(ctx), req.csrPem)),
    route(dispatcherApi.sync, async (req, ctx) => {
      const n = await d.caller(ctx)
      d.seen(n.id)
      return (await d.services()).dispatcher.sync(n.id, req)
    }),
    route(dispatcherApi.watch, async (req, ctx) => {
      const n = await d.caller(ctx)
      return (await d.services()).dispatcher.watch(n.id, req.since, req.waitMs, undefined, req.keys)
    }),
    route(managerApi.attach, async (req, ctx) => {
      const n = await d.caller(ctx)
      const networks = await d.networks()
      const net = await networks.find(req.network)
      // a node that cannot encrypt never carries an encrypted network
      if (net.encrypted && !(n.capabilities ?? []).includes(ESP_CAPABILITY))
        throw new ConflictError(`encrypted network ${net.name} needs ESP; node ${n.hostname} cannot`)
      return networks.attach(n.id, req.network, req.endpointId)
    }),
    route(managerApi.detach, async (req, ctx) => {
      const n = await d.caller(ctx)
      await (await d.networks()).detach(n.id, req.endpointId)
      return { ok: true as const }
    }),
    route(managerApi.leave, async (_req, ctx) => {
      await d.leave((await d.caller(ctx)).id)
      return { ok: true as const }
    }),
  ]
}
