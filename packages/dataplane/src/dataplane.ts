/**
 * The Dataplane implementation: validates desired state, observes the kernel, asks the
 * pure planners for a plan and hands it to the executor. Mutations of a network go through
 * the per-network queue; a full reconcile holds every network it touches plus `#node`.
 */
import { type AbortOptions, InvalidInputError, type Logger } from '@swarmnet/interface'
import { assertIpv4, intToIp, networkBase, parseCidr } from './addr.js'
import { Executor } from './executor.js'
import type { LbBackend } from './lb.js'
import { DEFAULT_GATEWAY_BRIDGE, IFNAME_MAX, overlayNamespace } from './names.js'
import { planNode } from './node.js'
import { type ObservedNode, observeNode, observeOverlay } from './observe.js'
import { defaultOverlayMtu, planPeers } from './overlay.js'
import { describeStep, type Plan } from './plan.js'
import { type KernelCapabilities, probeKernel } from './probe.js'
import { KeyedQueue } from './queue.js'
import {
  type CheckedNetwork,
  checkNetwork,
  checkPeers,
  type DesiredState,
  MIN_OVERLAY_MTU,
  type NodeConfig,
  normalizeDesired,
  type Peer,
} from './spec.js'

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
  /** Called with each argv before it is spawned. */
  readonly onSpawn?: (argv: readonly string[]) => void
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
    return this.#queue.run(keys, async () => {
      const before = this.#exec.spawns
      const observed = await observeNode(this.#exec, { ...options, ipvs: backend === 'ipvs', xfrm })
      const plan = planNode(checked, observed, this.#cfg, backend)
      return this.#apply('reconcile', plan, before, options)
    })
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
    const observed = await observeNode(this.#exec, { ...options, ipvs: backend === 'ipvs', xfrm })
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
