/** init, join, join-token, leave, info: membership of this node. */

import { blockOf, formatBlock, isIpv4, parseCidr, parseHostPort } from '@swarmnet/ipv4'
import { localApi } from '@swarmnet/wire'
import type { Command } from 'commander'
import { collectUpstream } from '../args.js'
import { call, ensureAgent } from '../client.js'
import { parseDuration } from '../duration.js'
import { CliError } from '../errors.js'
import { printJson } from '../output.js'

function parsePort(what: string) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^\d+$/.test(v) || n < 1 || n > 65535)
      throw new CliError(`invalid ${what} '${v}': expected a port number 1-65535`, 2)
    return n
  }
}

function parseMaskLength(v: string): number {
  const n = Number(v)
  if (!/^\d{1,2}$/.test(v) || n < 8 || n > 29)
    throw new CliError(`invalid --default-addr-pool-mask-length '${v}': expected a number from 8 to 29`, 2)
  return n
}

/** `--ingress-subnet`: a network address with its prefix (8-29), e.g. 10.255.0.0/16. */
function parseIngressSubnet(v: string): string {
  const c = parseCidr(v)
  if (c === undefined || c.prefix < 8 || c.prefix > 29)
    throw new CliError(
      `invalid --ingress-subnet '${v}': expected a subnet such as 10.255.0.0/16 (prefix 8-29)`,
      2,
    )
  const network = formatBlock(blockOf(c.ip, c.prefix))
  if (network !== v)
    throw new CliError(`invalid --ingress-subnet '${v}': not a network address (did you mean ${network}?)`, 2)
  return v
}

function parseIPv4(v: string): string {
  if (!isIpv4(v)) throw new CliError(`invalid address '${v}': expected an IPv4 address`, 2)
  return v
}

export function registerCluster(program: Command): void {
  program
    .command('init')
    .description('Initialise a cluster with this node as its first manager')
    .option(
      '--advertise-addr <ip>',
      'address other nodes use to reach this one (default: the default-route address)',
      parseIPv4,
    )
    .option('--listen-addr <ip[:port]>', 'address of the manager API', '0.0.0.0:2377')
    .option('--data-path-port <port>', 'UDP port of the vxlan data path', parsePort('data path port'))
    .option('--default-addr-pool <cidr>', 'pool for overlay subnets (default: 10.0.0.0/8)')
    .option(
      '--default-addr-pool-mask-length <n>',
      'prefix length of subnets from the pool (8-29)',
      parseMaskLength,
      24,
    )
    .option(
      '--ingress-subnet <cidr>',
      'subnet of the ingress network, the routing mesh of published ports (default: one from the pool)',
      parseIngressSubnet,
    )
    .option(
      '--dns-upstream <ip[:port]>',
      "tasks' resolver forwards other names here (default: /etc/resolv.conf)",
      collectUpstream,
    )
    .option(
      '--encryption-key-rotation <duration>',
      'how often the keys of encrypted networks rotate, e.g. 12h, 30m (at least 1m)',
      parseDuration('--encryption-key-rotation'),
    )
    .action(
      async (o: {
        advertiseAddr?: string
        listenAddr: string
        dataPathPort?: number
        defaultAddrPool?: string
        defaultAddrPoolMaskLength: number
        ingressSubnet?: string
        dnsUpstream?: string[]
        encryptionKeyRotation?: number
      }) => {
        await ensureAgent()
        const res = await call(
          localApi.init,
          {
            ...(o.advertiseAddr ? { advertiseAddr: o.advertiseAddr } : {}),
            listenAddr: o.listenAddr,
            ...(o.dataPathPort ? { dataPathPort: o.dataPathPort } : {}),
            ...(o.defaultAddrPool ? { defaultAddrPool: o.defaultAddrPool } : {}),
            defaultAddrPoolMaskLen: o.defaultAddrPoolMaskLength,
            ...(o.ingressSubnet !== undefined ? { ingressSubnet: o.ingressSubnet } : {}),
            ...(o.dnsUpstream ? { dnsUpstreams: o.dnsUpstream } : {}),
            ...(o.encryptionKeyRotation !== undefined
              ? { encryptionKeyRotationMs: o.encryptionKeyRotation }
              : {}),
          },
          120_000,
        )
        console.log(`Swarm initialized: current node (${res.nodeId}) is now a manager.\n`)
        console.log('To add a worker to this swarm, run the following command:\n')
        console.log(`    swarmnet join --token ${res.workerToken} ${res.managerAddr}\n`)
        console.log("To add a manager, run 'swarmnet join-token manager' and follow the instructions.")
      },
    )

  program
    .command('join')
    .description('Join this node to a cluster as a worker')
    .requiredOption('--token <token>', 'join token from `swarmnet join-token worker`')
    .option('--advertise-addr <ip>', 'address other nodes use to reach this one', parseIPv4)
    .option('--listen-addr <ip[:port]>', 'address of the manager API (managers only)')
    .option(
      '--dns-upstream <ip[:port]>',
      "tasks' resolver forwards other names here (default: /etc/resolv.conf)",
      collectUpstream,
    )
    .argument('<manager>', 'address of a manager, IP[:PORT] (port 2377 by default)')
    .action(
      async (
        manager: string,
        o: { token: string; advertiseAddr?: string; listenAddr?: string; dnsUpstream?: string[] },
      ) => {
        if (parseHostPort(manager, 2377) === undefined)
          throw new CliError(`invalid manager address '${manager}': expected IP[:PORT]`, 2)
        await ensureAgent()
        process.stderr.write(
          `Joining the cluster through ${manager.includes(':') ? manager : `${manager}:2377`} ...\n`,
        )
        const res = await call(
          localApi.join,
          {
            token: o.token.trim(),
            remoteAddr: manager,
            ...(o.advertiseAddr ? { advertiseAddr: o.advertiseAddr } : {}),
            ...(o.dnsUpstream ? { dnsUpstreams: o.dnsUpstream } : {}),
          },
          120_000,
        )
        console.log(`This node joined a swarm as a ${res.role} (node ${res.nodeId}).`)
      },
    )

  program
    .command('join-token')
    .description('Show or rotate the join token of a role')
    .argument('<role>', 'worker or manager')
    .option('-q, --quiet', 'print only the token')
    .option('--rotate', 'replace the token; the old one stops working')
    .action(async (role: string, o: { quiet?: boolean; rotate?: boolean }) => {
      if (role !== 'worker' && role !== 'manager')
        throw new CliError(`unknown role '${role}': expected worker or manager`, 2)
      const res = await call(localApi.joinToken, { role, rotate: o.rotate === true })
      if (o.quiet) {
        console.log(res.token)
        return
      }
      if (o.rotate) console.log(`Successfully rotated ${role} join token.\n`)
      console.log(`To add a ${role} to this swarm, run the following command:\n`)
      console.log(`    swarmnet join --token ${res.token} ${res.managerAddr}`)
    })

  program
    .command('leave')
    .description('Leave the cluster')
    .option('-f, --force', 'leave even if this is the manager, or the manager cannot be told')
    .action(async (o: { force?: boolean }) => {
      await call(localApi.leave, { force: o.force === true })
      console.log('Node left the swarm.')
    })

  program
    .command('info')
    .description('Show this node, its cluster and the kernel capabilities found')
    .option('--format <format>', "'json' for machine output")
    .action(async (o: { format?: string }) => {
      const i = await call(localApi.info, {})
      if (o.format === 'json') return printJson(i)
      const yes = (b: boolean): string => (b ? 'yes' : 'no')
      console.log(`Node ID:          ${i.nodeId || '-'}`)
      console.log(`Hostname:         ${i.hostname}`)
      console.log(`Swarm:            ${i.state}`)
      console.log(`Role:             ${i.role || '-'}`)
      console.log(`Cluster ID:       ${i.clusterId || '-'}`)
      console.log(`Manager address:  ${i.managerAddr || '-'}`)
      console.log(`Advertise addr:   ${i.advertiseAddr || '-'}`)
      console.log(`Data path port:   ${i.dataPathPort}/udp`)
      console.log(`Gossip port:      ${i.gossipPort}/tcp`)
      console.log(`Underlay MTU:     ${i.underlayMtu ?? '-'}`)
      console.log('Kernel capabilities:')
      console.log(`  vxlan:          ${yes(i.capabilities.vxlan)}`)
      console.log(`  nftables:       ${yes(i.capabilities.nftables)}`)
      console.log(`  ipvs:           ${yes(i.capabilities.ipvs)}`)
      console.log(`  esp:            ${yes(i.capabilities.esp)}`)
      console.log(`  load balancer:  ${i.capabilities.lbBackend ?? 'nftables'}`)
      if (i.cgroup !== undefined)
        console.log(
          `Cgroups:          ${i.cgroup.mode === 'none' ? `none, task limits refused (${i.cgroup.reason ?? ''})` : `${i.cgroup.mode}, task limits enforced`}`,
        )
      if (i.dns !== undefined)
        console.log(
          `DNS resolver:     ${i.dns.listening ? 'listening' : 'not listening yet'}, upstreams ${i.dns.upstreams.join(', ') || 'none'}`,
        )
      console.log(
        `Tasks:            ${i.tasks.started} started, ${i.tasks.rejected} rejected, ${i.tasks.failed} failed (since the agent started)`,
      )
      if (i.agent !== undefined)
        console.log(
          `Agent:            pid ${i.pid}, RSS ${(i.agent.rssBytes / 2 ** 20).toFixed(1)} MiB, CPU time ${i.agent.cpuSeconds.toFixed(1)} s`,
        )
      console.log(`Versions:         swarmnet ${i.version}, node ${i.node}, kernel ${i.kernel}`)
      if (i.warnings.length > 0) console.log('WARNING:')
      for (const w of i.warnings) console.log(`  ${w}`)
    })
}
