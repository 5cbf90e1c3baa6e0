/**
 * The local API routes only a manager answers: join tokens, nodes, networks and services. On a
 * worker (or a node in no cluster) each refuses with Docker's message.
 */
import { NotFoundError, SwarmnetError } from '@swarmnet/interface'
import type { Manager } from '@swarmnet/manager'
import type { NetworkView, Route } from '@swarmnet/wire'
import { localApi, route, serviceApi } from '@swarmnet/wire'
import type { NodeIdentity } from './identity.js'

export class NotAManagerError extends SwarmnetError {
  constructor() {
    super(
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Run this command on a manager node.",
      'ERR_NOT_MANAGER',
    )
  }
}

/** The manager role of this node, when it has one. */
export interface ManagerRole {
  /** This node's identity while it is in a cluster. */
  identity(): NodeIdentity | undefined
  /** The manager, on a manager node. */
  manager(): Manager | undefined
  /** The services of a network as this node's gossip shows them. */
  services?(networkId: string): NetworkView['services']
}

export function managerRoutes(role: ManagerRole): Route[] {
  const requireManager = (): { manager: Manager; id: NodeIdentity } => {
    const id = role.identity()
    if (id === undefined) throw new NotFoundError('This node is not part of a swarm')
    const manager = role.manager()
    if (manager === undefined) throw new NotAManagerError()
    return { manager, id }
  }
  const networks = () => requireManager().manager.networks()
  const services = () => requireManager().manager.services()
  return [
    route(localApi.joinToken, async (req) => {
      const { manager, id } = requireManager()
      return {
        role: req.role,
        token: await manager.joinToken(req.role, req.rotate),
        managerAddr: id.managerAddr,
      }
    }),
    route(localApi.nodeList, () => {
      const { manager, id } = requireManager()
      return manager.listNodes(id.nodeId)
    }),
    route(localApi.nodeInspect, async (req) => {
      const { manager, id } = requireManager()
      const n = await manager.findNode(req.ref)
      const all = await manager.listNodes(id.nodeId)
      const v = all.find((x) => x.id === n.id)
      if (v === undefined) throw new NotFoundError(`node ${req.ref} not found`)
      return v
    }),
    route(localApi.nodeUpdate, (req) => {
      const { manager, id } = requireManager()
      return manager.updateNode(
        req.ref,
        {
          ...(req.availability ? { availability: req.availability } : {}),
          ...(req.labelAdd ? { labelAdd: req.labelAdd } : {}),
          ...(req.labelRm ? { labelRm: req.labelRm } : {}),
        },
        id.nodeId,
      )
    }),
    route(localApi.nodeRemove, async (req) => {
      const { manager, id } = requireManager()
      await manager.removeNode(req.ref, req.force, id.nodeId)
      return { ok: true as const }
    }),
    route(localApi.networkCreate, async (req) => (await networks()).create(req)),
    route(localApi.networkList, async () => (await networks()).list()),
    route(localApi.networkInspect, async (req) => {
      const v = await (await networks()).inspect(req.ref)
      const services = role.services?.(v.id)
      return services === undefined ? v : { ...v, services }
    }),
    route(localApi.networkRemove, async (req) => {
      await (await networks()).remove(req.ref)
      return { ok: true as const }
    }),
    route(localApi.networkRotateKey, async () => ({
      generation: await requireManager().manager.rotateKeys(),
    })),
    route(serviceApi.create, async (req) => (await services()).create(req)),
    route(serviceApi.list, async () => (await services()).list()),
    route(serviceApi.inspect, async (req) => (await services()).inspect(req.ref)),
    route(serviceApi.ps, async (req) => (await services()).ps(req.ref)),
    route(serviceApi.scale, async (req) => (await services()).scale(req.ref, req.replicas)),
    route(serviceApi.update, async ({ ref, ...patch }) => (await services()).update(ref, patch)),
    route(serviceApi.rollback, async (req) => (await services()).rollback(req.ref)),
    route(serviceApi.remove, async (req) => {
      await (await services()).remove(req.ref)
      return { ok: true as const }
    }),
    route(serviceApi.logs, async (req) => (await services()).logs(req)),
  ]
}
