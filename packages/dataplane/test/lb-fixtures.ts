// Shared input for the load balancer tests: one LB on fixtures.ts's network n1.
import { lbNftScript, lbTable } from '../src/lb-nft.js'
import type { IpvsService, ObservedLbTable } from '../src/observe-lb.js'
import { type LoadBalancerSpec, normalizeDesired } from '../src/spec.js'
import { desired } from './fixtures.js'

export const lbSpec = (services: LoadBalancerSpec['services']): LoadBalancerSpec => ({
  networkId: 'n1',
  address: '10.0.1.250',
  services,
})
export const web = {
  id: 'web',
  vip: '10.0.1.100',
  backends: [
    { ip: '10.0.1.7', weight: 1 as const },
    { ip: '10.0.1.2', weight: 1 as const },
  ],
}
export const api = { id: 'api', vip: '10.0.1.101', backends: [{ ip: '10.0.1.8', weight: 1 as const }] }
/** The services of fixtures/lb-table.json (`nft -j` of fullLbScript(check(captured)), kernel 6.18, nft 1.0.6). */
export const captured = [
  { ...web, backends: [...web.backends, { ip: '10.0.1.9', weight: 0 as const }] },
  api,
  { id: 'db', vip: '10.0.1.102', backends: [{ ip: '10.0.1.3', weight: 0 as const }] },
]
export const check = (services: LoadBalancerSpec['services']) => {
  const lb = normalizeDesired({ ...desired, loadBalancers: [lbSpec(services)] }).loadBalancers[0]
  if (lb === undefined) throw new Error('one LB')
  return lb
}

/** What `nft -j` would show after `services` were written: the desired table. */
export const observedAfter = (services: LoadBalancerSpec['services']): ObservedLbTable =>
  lbTable(check(services))

/** The nft script of `lb` against `observed`, comments stripped, one line each. */
export const scriptLines = (lb: ReturnType<typeof check>, observed: ObservedLbTable): string[] =>
  (lbNftScript(lb, observed) ?? '').replace(/ comment "sn:[0-9a-f]{12}"/g, '').split('\n')

/** An LB namespace observed with a leg-less link set (only rules, sysctls and IPVS matter here). */
export const observedLb = (nft: ObservedLbTable, sysctls: Map<string, string>, ipvs?: IpvsService[]) => ({
  netns: 'sn-lb-4097',
  broken: false,
  links: new Map(),
  neigh: [],
  fdb: [],
  routes: [],
  nft,
  sysctls,
  ipvs,
})
