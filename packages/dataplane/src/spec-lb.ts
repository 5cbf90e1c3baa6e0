/**
 * Validation of the service load balancer input (the LB part of spec.ts): one LB per
 * network, its address and VIPs inside the network and unique, backends unique by IP.
 */
import { InvalidInputError } from '@swarmnet/interface'
import { assertIpv4, contains, ipToInt, macFromIp, normalizeMac } from './addr.js'
import type {
  CheckedBackend,
  CheckedLoadBalancer,
  CheckedNetwork,
  CheckedService,
  LbServiceSpec,
  LoadBalancerSpec,
} from './spec.js'

const byIp = (a: { ip: string }, b: { ip: string }): number => ipToInt(a.ip) - ipToInt(b.ip)

function checkService(s: LbServiceSpec, net: CheckedNetwork, where: string): CheckedService {
  if (typeof s.id !== 'string' || s.id.length === 0) throw new InvalidInputError(`${where}: empty service id`)
  const at = `${where} service ${JSON.stringify(s.id)}`
  const vip = assertIpv4(s.vip, `${at}.vip`)
  if (!contains(net.subnet, vip)) throw new InvalidInputError(`${at}: VIP ${vip} outside the network`)
  if (!Array.isArray(s.backends as unknown)) throw new InvalidInputError(`${at}: backends must be a list`)
  const backends = new Map<string, CheckedBackend>()
  s.backends.forEach((b, i) => {
    const ip = assertIpv4(b.ip, `${at}.backends[${i}].ip`)
    if (!contains(net.subnet, ip)) throw new InvalidInputError(`${at}: backend ${ip} outside the network`)
    if (b.weight !== 0 && b.weight !== 1) throw new InvalidInputError(`${at}: weight must be 0 or 1`)
    // the gossip may briefly hold a task twice: the live record wins
    if ((backends.get(ip)?.weight ?? -1) < b.weight) backends.set(ip, { ip, weight: b.weight })
  })
  return { id: s.id, vip, backends: [...backends.values()].sort(byIp) }
}

export function checkLoadBalancers(
  specs: readonly LoadBalancerSpec[],
  networks: ReadonlyMap<string, CheckedNetwork>,
): CheckedLoadBalancer[] {
  if (!Array.isArray(specs as unknown)) throw new InvalidInputError('loadBalancers must be a list')
  const seen = new Set<string>()
  return specs.map((lb) => {
    const network = networks.get(lb.networkId)
    if (network === undefined)
      throw new InvalidInputError(`load balancer of ${JSON.stringify(lb.networkId)}: unknown network`)
    if (seen.has(network.id))
      throw new InvalidInputError(`load balancer of ${JSON.stringify(lb.networkId)}: given twice`)
    seen.add(network.id)
    return checkLoadBalancer(lb, network)
  })
}

/** `previous`'s record of a service when `s` is exactly what it was checked from (same VIP, same backends, any order). */
function unchanged(s: LbServiceSpec, p: CheckedService | undefined): CheckedService | undefined {
  if (p === undefined || s.vip !== p.vip || !Array.isArray(s.backends as unknown)) return undefined
  if (s.backends.length !== p.backends.length) return undefined
  if (s.backends.every((a, i) => a?.ip === p.backends[i]?.ip && a?.weight === p.backends[i]?.weight)) return p
  const weights = new Map(p.backends.map((b) => [b.ip, b.weight]))
  for (const a of s.backends) {
    // every IP once (p's are unique and as many), with its weight
    if (a === undefined || weights.get(a.ip) !== a.weight) return undefined
    weights.delete(a.ip)
  }
  return p
}

/**
 * One LB spec on its (checked) network: addresses inside it, service ids and VIPs unique.
 * `previous`, a spec checked before on the same subnet, spares re-checking the services
 * that did not change (10 000 of them take ~100 ms to parse again).
 */
export function checkLoadBalancer(
  lb: LoadBalancerSpec,
  network: CheckedNetwork,
  previous?: CheckedLoadBalancer,
): CheckedLoadBalancer {
  const where = `load balancer of ${JSON.stringify(lb.networkId)}`
  if (lb.networkId !== network.id) throw new InvalidInputError(`${where}: not on network ${network.id}`)
  if (!Array.isArray(lb.services as unknown)) throw new InvalidInputError(`${where}: services must be a list`)
  const address = assertIpv4(lb.address, `${where}.address`)
  if (!contains(network.subnet, address) || address === network.gateway)
    throw new InvalidInputError(`${where}: address ${address} outside the network or its gateway`)
  const mac = lb.mac === undefined ? macFromIp(address) : normalizeMac(lb.mac, `${where}.mac`)
  const sameSubnet =
    previous?.network.subnet.address === network.subnet.address &&
    previous.network.subnet.prefix === network.subnet.prefix
  const before = sameSubnet ? servicesById(previous) : new Map<string, CheckedService>()
  const ids = new Map<string, CheckedService>()
  const vips = new Map<string, string>()
  const services = lb.services.map((s) => {
    const svc = unchanged(s, before.get(s.id)) ?? checkService(s, network, where)
    if (ids.has(svc.id)) throw new InvalidInputError(`${where}: service ${svc.id} given twice`)
    const other = vips.get(svc.vip)
    const owner =
      svc.vip === address
        ? 'the LB address'
        : svc.vip === network.gateway
          ? 'the gateway'
          : other === undefined
            ? undefined
            : `the VIP of ${other}`
    if (owner !== undefined) throw new InvalidInputError(`${where}: VIP ${svc.vip} is already ${owner}`)
    ids.set(svc.id, svc)
    vips.set(svc.vip, svc.id)
    return svc
  })
  const checked = {
    network,
    address,
    mac,
    services: sortedById(services),
  }
  byId.set(checked, ids)
  return checked
}

/** Sorted by id; a list that already is (the usual case: the worker keeps the order) is not sorted again. */
function sortedById(services: CheckedService[]): CheckedService[] {
  for (let i = 1; i < services.length; i++)
    if ((services[i - 1] as CheckedService).id > (services[i] as CheckedService).id)
      return services.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return services
}

const byId = new WeakMap<CheckedLoadBalancer, ReadonlyMap<string, CheckedService>>()

/** The services of a checked LB by id (made once per LB: a checked LB never changes). */
export function servicesById(lb: CheckedLoadBalancer): ReadonlyMap<string, CheckedService> {
  let map = byId.get(lb)
  if (map === undefined) {
    map = new Map(lb.services.map((s) => [s.id, s]))
    byId.set(lb, map)
  }
  return map
}
