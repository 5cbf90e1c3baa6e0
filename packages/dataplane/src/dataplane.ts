/**
 * The Dataplane implementation: validates desired state, observes the kernel, asks the
 * pure planners for a plan and hands it to the executor. Mutations of a network go through
 * the per-network queue; a full reconcile holds every network it touches plus `#node`.
 *
 * Load balancer updates have a fast path (`updateLoadBalancer`, nftables backend): the
 * dataplane remembers per network the LB spec it last applied without failure (desired
 * state, like the networks kept for setPeers — not a copy of the kernel) and sends only the
 * delta from it to the new spec: one nft transaction, one `ip` batch for the VIP addresses
 * that changed, conntrack deletion of departed backends — nothing is observed. Observing is
 * what is slow: listing an LB table of 10 000 services costs far more than the change. This
 * is kube-proxy's model: partial syncs from its own last-applied state, full syncs
 * periodically; here the periodic full `reconcile` (the drift check) observes and repairs
 * whatever drifted. When the fast path cannot be trusted — nothing remembered for the
 * network, the leg changes, or a step fails (the kernel drifted: nft refuses the whole
 * transaction, nothing changes) — the remembered spec is forgotten and that LB namespace
 * is observed and planned fully (planLoadBalancer). A drift the delta does not touch (rules
 * flushed by hand, sets kept) stays until the next reconcile. The ingress network has the
 * same fast path for its LB and the mesh together (`updateIngress`; `updateLoadBalancer` of
 * that network takes it too, with the ingress applied last). The fast paths live in update.ts.
 */
import { type AbortOptions, InvalidInputError, type Logger } from '@swarmnet/interface'
import { assertIpv4, intToIp, networkBase, parseCidr } from './addr.js'
import { Executor } from './executor.js'
import type { LbBackend } from './lb.js'
import { DEFAULT_GATEWAY_BRIDGE, IFNAME_MAX, overlayNamespace, sandboxNamespace } from './names.js'
import { planNode } from './node.js'
import { type ObservedNode, type ObserveOptions, observeNode, observeOverlay } from './observe.js'
import { defaultOverlayMtu, planPeers } from './overlay.js'
import { describeStep, INGRESS_OWNER, lbOwner, networkOwner, type Plan } from './plan.js'
import { type KernelCapabilities, probeKernel } from './probe.js'
import { KeyedQueue } from './queue.js'
import { assignGatewayIps } from './sandbox.js'
import {
  type CheckedDesired,
  type CheckedIngress,
  type CheckedNetwork,
  checkNetwork,
  checkPeers,
  type DesiredState,
  type IngressSpec,
  type LoadBalancerSpec,
  MIN_OVERLAY_MTU,
  type NodeConfig,
  normalizeDesired,
  type Peer,
} from './spec.js'
import { checkIngressGatewayIp, checkIngressPorts } from './spec-ingress.js'
import { checkLoadBalancer } from './spec-lb.js'
import { FastPath } from './update.js'

export interface DataplaneInit {
  /** This node's underlay (data path) address: vxlan `local` and the VTEP peers use. */
  readonly advertiseAddress: string
  /** Underlay device for the vxlan (`dev`); by default the kernel routes by `local`. */
  readonly underlayDevice?: string
  /** @default 1500 — the MTU of networks that name none is this − 50; the gateway bridge's is this */
  readonly underlayMtu?: number
  /** UDP port of the vxlan data path, 1024–49151. @default 4789 */
  readonly dataPathPort?: number
  /** @default 'sn_gwbridge' */
  readonly gatewayBridge?: string
  /** @default '172.18.0.0/16' (the bridge takes the first address) */
  readonly gatewaySubnet?: string
  /** argv prefix for every command, e.g. `['nsenter', '-t', pid, '-n', '-m', '--']`. */
  readonly wrap?: readonly string[]
  /** Called with each argv and what goes to its stdin (an nft script, a batch) before it is spawned. */
  readonly onSpawn?: (argv: readonly string[], input: string) => void
  /**
   * Service load balancer backend: `auto` takes IPVS when the kernel probe finds it,
   * nftables otherwise (probed once, on first need).
   * @default 'auto'
   */
  readonly lbBackend?: 'auto' | LbBackend
}

export interface DataplaneComponents {
  readonly logger: Logger
}

export interface ReconcileResult {
  /** Steps applied (0 when the kernel already matched). */
  readonly steps: number
  /** Processes spawned for observation and changes. */
  readonly processes: number
  readonly warnings: readonly string[]
  /**
   * What could not be programmed, the rest being applied: `network:<id>` / `endpoint:<id>`
   * → the kernel's error (an endpoint on a failed network is failed with it).
   */
  readonly failed: ReadonlyMap<string, string>
}

export interface Dataplane {
  /** Observe everything, apply the difference to `desired`; the periodic drift repair. */
  reconcile(desired: DesiredState, options?: AbortOptions): Promise<ReconcileResult>
  /**
   * Replace the full peer set of one network (gossip changed). Programs the kernel only
   * when the network's namespace exists; the set is remembered for the next reconcile.
   */
  setPeers(networkId: string, peers: readonly Peer[], options?: AbortOptions): Promise<ReconcileResult>
  /**
   * Replace the load balancer of one network (undefined: remove it), e.g. when one service
   * record changes. With nftables, and a spec applied before on this network, only the
   * delta is sent, unobserved (see the module note); otherwise that LB namespace is
   * observed and planned fully. The network must be known from a reconcile.
   */
  updateLoadBalancer(
    networkId: string,
    lb: LoadBalancerSpec | undefined,
    options?: AbortOptions,
  ): Promise<ReconcileResult>
  /**
   * The fast path of the ingress network (the worker calls it instead of updateLoadBalancer
   * when a change touches only the ingress network's records): the LB delta and the mesh's
   * deltas from the state applied last, nothing observed; observed and planned fully when
   * there is none or the kernel refuses. Host-mode ports use the gateway addresses of the
   * last reconcile; iptables are the reconcile's. The network must be known from a reconcile.
   */
  updateIngress(ingress: IngressSpec, lb: LoadBalancerSpec, options?: AbortOptions): Promise<ReconcileResult>
  /** The plan `reconcile` would apply now (dry run). */
  plan(desired: DesiredState, options?: AbortOptions): Promise<Plan>
  /** Current kernel state of everything swarmnet owns on this node. */
  observe(options?: AbortOptions): Promise<ObservedNode>
  /** What the kernel supports (vxlan, nftables, IPVS, ESP) and the LB backend chosen with it. */
  capabilities(options?: AbortOptions): Promise<DataplaneCapabilities>
  /** The service load balancer backend in use (the init option, or what `auto` found). */
  lbBackend(options?: AbortOptions): Promise<LbBackend>
  /** Remove every namespace, device and nft table the dataplane made. */
  teardown(options?: AbortOptions): Promise<ReconcileResult>
  /** Processes spawned since creation. */
  readonly processes: number
  /** The gateway bridge's address and subnet (`a.b.c.d/len`): sandbox legs and the DNS resolver live there. */
  readonly gateway: { readonly address: string; readonly subnet: string }
}

/** Kernel capabilities plus the load balancer backend this dataplane uses. */
export interface DataplaneCapabilities extends KernelCapabilities {
  readonly lbBackend: LbBackend
}

const NODE_KEY = '#node'

export function nodeConfig(init: DataplaneInit): NodeConfig {
  const advertiseAddress = assertIpv4(init.advertiseAddress, 'advertiseAddress')
  const underlayMtu = init.underlayMtu ?? 1500
  if (!Number.isInteger(underlayMtu) || underlayMtu < MIN_OVERLAY_MTU || underlayMtu > 65535) {
    throw new InvalidInputError(`underlayMtu out of range: ${underlayMtu}`)
  }
  const dataPathPort = init.dataPathPort ?? 4789
  if (!Number.isInteger(dataPathPort) || dataPathPort < 1024 || dataPathPort > 49151) {
    throw new InvalidInputError(`dataPathPort must be 1024–49151: ${dataPathPort}`)
  }
  const gatewayBridge = init.gatewayBridge ?? DEFAULT_GATEWAY_BRIDGE
  if (!/^[A-Za-z0-9_.-]+$/.test(gatewayBridge) || gatewayBridge.length > IFNAME_MAX) {
    throw new InvalidInputError(`gatewayBridge must be a valid interface name: ${gatewayBridge}`)
  }
  const gatewaySubnet = parseCidr(init.gatewaySubnet ?? '172.18.0.0/16', 'gatewaySubnet')
  if (gatewaySubnet.prefix > 29) throw new InvalidInputError('gatewaySubnet is too small')
  const base = networkBase(gatewaySubnet)
  return {
    advertiseAddress,
    underlayDevice: init.underlayDevice,
    underlayMtu,
    dataPathPort,
    gatewayBridge,
    gatewaySubnet: { address: intToIp(base), prefix: gatewaySubnet.prefix },
    gatewayAddress: intToIp(base + 1),
  }
}

export class LinuxDataplane implements Dataplane {
  readonly #log: Logger
  readonly #cfg: NodeConfig
  readonly #exec: Executor
  readonly #queue = new KeyedQueue()
  readonly #lbChoice: 'auto' | LbBackend
  /** The kernel probe, run once (capabilities do not change while the node runs). */
  #probe: Promise<KernelCapabilities> | undefined
  /** Last desired spec per network id: desired state, not a copy of the kernel. */
  readonly #networks = new Map<string, CheckedNetwork>()
  /** The specs applied last without failure: the fast paths' base (desired state too; update.ts). */
  readonly #fast: FastPath

  constructor(components: DataplaneComponents, init: DataplaneInit) {
    this.#log = components.logger
    this.#cfg = nodeConfig(init)
    const choice = init.lbBackend ?? 'auto'
    if (choice !== 'auto' && choice !== 'ipvs' && choice !== 'nftables')
      throw new InvalidInputError(`lbBackend must be auto, ipvs or nftables: ${String(choice)}`)
    this.#lbChoice = choice
    this.#exec = new Executor({
      ...(init.wrap === undefined ? {} : { wrap: init.wrap }),
      ...(init.onSpawn === undefined ? {} : { onSpawn: init.onSpawn }),
    })
    this.#fast = new FastPath({
      exec: this.#exec,
      cfg: this.#cfg,
      log: this.#log,
      apply: (what, plan, before, options) => this.#apply(what, plan, before, options),
    })
  }

  get processes(): number {
    return this.#exec.spawns
  }

  get gateway(): { address: string; subnet: string } {
    const { address, prefix } = this.#cfg.gatewaySubnet
    return { address: this.#cfg.gatewayAddress, subnet: `${address}/${prefix}` }
  }

  async reconcile(desired: DesiredState, options?: AbortOptions): Promise<ReconcileResult> {
    const checked = normalizeDesired(desired, defaultOverlayMtu(this.#cfg))
    for (const spec of desired.networks)
      this.#networks.set(spec.id, checkNetwork(spec, defaultOverlayMtu(this.#cfg)))
    for (const id of this.#networks.keys())
      if (!desired.networks.some((n) => n.id === id)) this.#networks.delete(id)
    const keys = [NODE_KEY, ...desired.networks.map((n) => n.id)]
    const backend = checked.loadBalancers.length > 0 ? await this.lbBackend(options) : 'nftables'
    const xfrm = await this.#hasEsp(options)
    const { ingress } = checked
    if (ingress !== undefined)
      checkIngressGatewayIp(ingress.gatewayIp, this.#cfg.gatewaySubnet, this.#cfg.gatewayAddress)
    return this.#queue.run(keys, async () => {
      const before = this.#exec.spawns
      const observed = await observeNode(this.#exec, {
        ...options,
        ...this.#observeOptions(checked, backend),
        xfrm,
      })
      const plan = planNode(checked, observed, this.#cfg, backend)
      const fast = this.#fast
      fast.lbs.clear()
      fast.ingress = undefined
      fast.gatewayIps = assignGatewayIps(checked.endpoints, this.#cfg, observed.sandboxes, ingress?.gatewayIp)
      const result = await this.#apply('reconcile', plan, before, options)
      const ok = (id: string) => !result.failed.has(lbOwner(id)) && !result.failed.has(networkOwner(id))
      if (backend === 'nftables')
        for (const lb of checked.loadBalancers) if (ok(lb.network.id)) fast.lbs.set(lb.network.id, lb)
      const lb = checked.loadBalancers.find((l) => l.network.id === ingress?.network.id)
      if (backend === 'nftables' && ingress !== undefined && lb !== undefined && ok(lb.network.id))
        if (!result.failed.has(INGRESS_OWNER)) fast.ingress = { ingress, lb, gatewayIps: fast.gatewayIps }
      return result
    })
  }

  async updateLoadBalancer(
    networkId: string,
    lb: LoadBalancerSpec | undefined,
    options?: AbortOptions,
  ): Promise<ReconcileResult> {
    const net = this.#networks.get(networkId)
    if (net === undefined) throw new InvalidInputError(`unknown network ${networkId}: reconcile it first`)
    const next = lb === undefined ? undefined : checkLoadBalancer(lb, net, this.#fast.lbs.get(networkId))
    const backend = await this.lbBackend(options)
    return this.#queue.run([networkId], () => this.#fast.updateLoadBalancer(net, next, backend, options))
  }

  async updateIngress(
    ingress: IngressSpec,
    lb: LoadBalancerSpec,
    options?: AbortOptions,
  ): Promise<ReconcileResult> {
    const net = this.#networks.get(ingress.networkId)
    if (net === undefined)
      throw new InvalidInputError(`unknown network ${ingress.networkId}: reconcile it first`)
    if (lb.networkId !== net.id)
      throw new InvalidInputError('updateIngress: the LB must be the ingress network`s')
    const gatewayIp = assertIpv4(ingress.gatewayIp, 'ingress.gatewayIp')
    checkIngressGatewayIp(gatewayIp, this.#cfg.gatewaySubnet, this.#cfg.gatewayAddress)
    const checked: CheckedIngress = { network: net, gatewayIp, ...checkIngressPorts(ingress) }
    const next = checkLoadBalancer(lb, net, this.#fast.lbs.get(net.id))
    const backend = await this.lbBackend(options)
    return this.#queue.run([net.id], () => this.#fast.updateIngress(net, checked, next, backend, options))
  }

  async setPeers(
    networkId: string,
    peers: readonly Peer[],
    options?: AbortOptions,
  ): Promise<ReconcileResult> {
    const known = this.#networks.get(networkId)
    if (known === undefined) throw new InvalidInputError(`unknown network ${networkId}: reconcile it first`)
    const net: CheckedNetwork = { ...known, peers: checkPeers(peers, `network ${JSON.stringify(networkId)}`) }
    this.#networks.set(networkId, net)
    return this.#queue.run([networkId], async () => {
      const before = this.#exec.spawns
      const observed = await observeOverlay(this.#exec, overlayNamespace(net.vni), options)
      // No namespace (no local endpoint yet): the peers go in when reconcile builds it.
      if (observed.broken)
        return { steps: 0, processes: this.#exec.spawns - before, warnings: [], failed: new Map() }
      return this.#apply(`peers ${networkId}`, planPeers(net, this.#cfg, observed), before, options)
    })
  }

  async plan(desired: DesiredState, options?: AbortOptions): Promise<Plan> {
    const checked = normalizeDesired(desired, defaultOverlayMtu(this.#cfg))
    const backend = checked.loadBalancers.length > 0 ? await this.lbBackend(options) : 'nftables'
    const xfrm = await this.#hasEsp(options)
    const observed = await observeNode(this.#exec, {
      ...options,
      ...this.#observeOptions(checked, backend),
      xfrm,
    })
    return planNode(checked, observed, this.#cfg, backend)
  }

  observe(options?: AbortOptions): Promise<ObservedNode> {
    return observeNode(this.#exec, options)
  }

  async capabilities(options?: AbortOptions): Promise<DataplaneCapabilities> {
    const caps = await this.#probeOnce(options)
    return { ...caps, lbBackend: this.#choose(caps) }
  }

  async lbBackend(options?: AbortOptions): Promise<LbBackend> {
    return this.#lbChoice === 'auto' ? this.#choose(await this.#probeOnce(options)) : this.#lbChoice
  }

  /** What to read beyond the basics: IPVS, the ingress namespace's table, iptables, the task tables. */
  #observeOptions(checked: CheckedDesired, backend: LbBackend): ObserveOptions {
    const ing = checked.ingress
    const taskTables = new Set(
      checked.endpoints
        .filter((e) => e.attachments.some((a) => a.redirects.length > 0 || a.network.id === ing?.network.id))
        .map((e) => sandboxNamespace(e.id)),
    )
    return {
      ipvs: backend === 'ipvs',
      iptables: ing !== undefined,
      ...(ing === undefined ? {} : { ingressVni: ing.network.vni }),
      taskTables,
    }
  }

  /** Whether xfrm state can exist here (probed once): without ESP none is read. */
  async #hasEsp(options?: AbortOptions): Promise<boolean> {
    return (await this.#probeOnce(options)).esp
  }

  /** `auto`: IPVS where the kernel has it (Docker's choice), nftables elsewhere. */
  #choose(caps: KernelCapabilities): LbBackend {
    if (this.#lbChoice !== 'auto') return this.#lbChoice
    return caps.ipvs ? 'ipvs' : 'nftables'
  }

  #probeOnce(options?: AbortOptions): Promise<KernelCapabilities> {
    if (this.#probe === undefined) {
      const probe = probeKernel(this.#exec, options)
      this.#probe = probe
      // a failed or aborted probe is tried again next time
      probe.catch(() => {
        if (this.#probe === probe) this.#probe = undefined
      })
    }
    return this.#probe
  }

  teardown(options?: AbortOptions): Promise<ReconcileResult> {
    return this.reconcile({ networks: [], endpoints: [] }, options)
  }

  async #apply(what: string, plan: Plan, before: number, options?: AbortOptions): Promise<ReconcileResult> {
    for (const w of plan.warnings) this.#log.warn(w)
    let failed: ReadonlyMap<string, string> = new Map()
    if (plan.steps.length > 0) {
      this.#log.debug(`${what}: applying ${plan.steps.length} steps`, {
        first: plan.steps.slice(0, 5).map(describeStep),
      })
      failed = (await this.#exec.apply(plan, options)).failed
      for (const [owner, error] of failed) this.#log.warn(`${what}: ${owner} not programmed`, { error })
    }
    return {
      steps: plan.steps.length,
      processes: this.#exec.spawns - before,
      warnings: plan.warnings,
      failed,
    }
  }
}
