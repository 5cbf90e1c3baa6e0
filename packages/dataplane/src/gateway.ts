/**
 * Planner for the gateway bridge (egress for sandboxes): host bridge `sn_gwbridge` with
 * the first address of its subnet, ip_forward on, and nftables tables of our own:
 * `table ip swarmnet` (MASQUERADE for the subnet leaving through any other interface;
 * routed traffic between two legs dropped) and `table bridge swarmnet` (frames bridged
 * between two sandbox legs `sngw-*` dropped: inter-container traffic off).
 *
 * The bridge has a fixed MAC (02:42 + its address, like its sandbox legs): left to itself a
 * Linux bridge takes the lowest MAC of its ports and changes it when that port goes.
 *
 * Order: bridge and address first, so the nft rules never name a missing device in use;
 * sysctl next; the nft load last. The nft script replaces both tables atomically
 * (`table …{}` + `delete table` + full definition in one `nft -f -` transaction). Every
 * rule carries `comment "sn:<name>:<hash of its text>"`, so observation can tell a
 * missing, foreign or outdated rule from the right one without a shadow copy.
 */
import { createHash } from 'node:crypto'
import { macFromIp } from './addr.js'
import { GATEWAY_VETH_PREFIX, NFT_TABLE } from './names.js'
import type { ObservedHost } from './observe.js'
import { ip, type Plan, type Step } from './plan.js'
import type { NodeConfig } from './spec.js'

interface NftRule {
  readonly family: 'ip' | 'bridge'
  readonly chain: string
  readonly name: string
  readonly text: string
}

const CHAINS: Record<string, string> = {
  'ip/postrouting': 'type nat hook postrouting priority srcnat; policy accept;',
  'ip/forward': 'type filter hook forward priority filter; policy accept;',
  'bridge/forward': 'type filter hook forward priority filter; policy accept;',
}

function gatewayRules(cfg: NodeConfig): NftRule[] {
  const subnet = `${cfg.gatewaySubnet.address}/${cfg.gatewaySubnet.prefix}`
  const br = cfg.gatewayBridge
  return [
    {
      family: 'ip',
      chain: 'postrouting',
      name: 'masq',
      text: `ip saddr ${subnet} oifname != "${br}" masquerade`,
    },
    { family: 'ip', chain: 'forward', name: 'icc', text: `iifname "${br}" oifname "${br}" drop` },
    {
      family: 'bridge',
      chain: 'forward',
      name: 'icc-l2',
      text: `iifname "${GATEWAY_VETH_PREFIX}*" oifname "${GATEWAY_VETH_PREFIX}*" drop`,
    },
  ]
}

function commentOf(rule: NftRule): string {
  return `sn:${rule.name}:${createHash('sha256').update(rule.text).digest('hex').slice(0, 8)}`
}

/** The observation key of each desired rule, in listing order. */
export function desiredNftRules(cfg: NodeConfig): string[] {
  return gatewayRules(cfg).map((r) => `${r.family}/${r.chain}/${commentOf(r)}`)
}

const dropTables = (['ip', 'bridge'] as const).flatMap((f) => [
  `table ${f} ${NFT_TABLE} {}`,
  `delete table ${f} ${NFT_TABLE}`,
])

/** The whole nft script: replaces both tables in one transaction. */
export function gatewayNftScript(cfg: NodeConfig): string {
  const rules = gatewayRules(cfg)
  const lines = [...dropTables]
  for (const family of ['ip', 'bridge'] as const) {
    lines.push(`table ${family} ${NFT_TABLE} {`)
    for (const [key, spec] of Object.entries(CHAINS)) {
      const [f, chain] = key.split('/')
      if (f !== family) continue
      lines.push(`  chain ${chain} {`, `    ${spec}`)
      for (const r of rules) {
        if (r.family === family && r.chain === chain) lines.push(`    ${r.text} comment "${commentOf(r)}"`)
      }
      lines.push('  }')
    }
    lines.push('}')
  }
  return lines.join('\n')
}

export function planGateway(cfg: NodeConfig, host: ObservedHost): Plan {
  const steps: Step[] = []
  const name = cfg.gatewayBridge
  const br = host.links.get(name)
  if (br !== undefined && br.kind !== 'bridge') steps.push(ip(undefined, 'link', 'del', name))
  // a bridge without a MAC of its own takes its ports' lowest one, which changes when that
  // port goes: every task would then send to a MAC nobody has until its neighbour entry ages
  const mac = macFromIp(cfg.gatewayAddress)
  if (br?.kind !== 'bridge')
    steps.push(
      ip(undefined, 'link', 'add', name, 'mtu', String(cfg.underlayMtu), 'address', mac, 'type', 'bridge'),
    )
  else if (br.mac !== mac) steps.push(ip(undefined, 'link', 'set', name, 'address', mac))
  if (br?.kind !== 'bridge' || !br.up) steps.push(ip(undefined, 'link', 'set', name, 'up'))
  const want = `${cfg.gatewayAddress}/${cfg.gatewaySubnet.prefix}`
  const have = br?.kind === 'bridge' ? br.addresses : []
  for (const a of have) if (a !== want) steps.push(ip(undefined, 'addr', 'del', a, 'dev', name))
  if (!have.includes(want)) steps.push(ip(undefined, 'addr', 'replace', want, 'dev', name))
  if (host.ipForward !== '1') steps.push({ tool: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' })
  if (desiredNftRules(cfg).join('\n') !== host.nftRules.join('\n')) {
    steps.push({ tool: 'nft', script: gatewayNftScript(cfg) })
  }
  return { steps, warnings: [] }
}

/** Removes the bridge and our nft tables (ip_forward is left as found). */
export function planGatewayRemoval(cfg: NodeConfig, host: ObservedHost): Plan {
  const steps: Step[] = []
  if (host.links.get(cfg.gatewayBridge)?.kind === 'bridge') {
    steps.push(ip(undefined, 'link', 'del', cfg.gatewayBridge))
  }
  if (host.nftRules.length > 0) steps.push({ tool: 'nft', script: dropTables.join('\n') })
  return { steps, warnings: [] }
}
