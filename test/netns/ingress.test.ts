// The ingress routing mesh (nftables backend) on the real kernel: two simulated hosts on the
// ingress overlay, three tasks answering `<task> <client seen>` (t1, t2 on h1, t3 on h2 across
// the vxlan), h1 with the ingress namespace and the host table, the lab's ext namespace
// (203.0.113.10) as the outside client. Published TCP and UDP through h1's underlay address
// from outside and from h1 itself, the UDP flow moving on when its backend leaves, refusal
// with no live backend, a host-mode port with the client's real address, iptables FORWARD DROP
// coexistence, the operators' user chain kept, the updateIngress fast path, clean removal.
import {
  createDataplane,
  type Dataplane,
  type DesiredState,
  type IngressPortSpec,
  type IngressSpec,
  type LbServiceSpec,
  type NetworkSpec,
} from '@swarmnet/dataplane'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createLab,
  macOf,
  type SimHost,
  type SimLab,
  silentLogger,
  spawnRecorder,
  waitFor,
} from './helpers/hosts.js'
import { serveWhoami, udpOnce } from './helpers/servers.js'

const LB = '10.0.0.250'
const LB_NS = 'sn-lb-4200'
const VIP = '10.0.0.100'
const GW_IP = '172.18.0.2'
const TCP = { published: 8080, target: 8000 }
const UDP = { published: 5353, target: 5300 }
const HOST_PORT = 9090
// task → [ip, host index]
const TASKS: Record<string, [string, number]> = {
  t1: ['10.0.0.2', 0],
  t2: ['10.0.0.3', 0],
  t3: ['10.0.0.4', 1],
}
const ipOf = (t: string): string => (TASKS[t] as [string, number])[0]

const network: NetworkSpec = {
  id: 'ingress',
  vni: 4200,
  subnet: '10.0.0.0/24',
  gateway: '10.0.0.1',
  peers: [
    ...Object.values(TASKS).map(([ip, h]) => ({ ip, mac: macOf(ip), vtep: `192.0.2.${h + 1}` })),
    { ip: LB, mac: macOf(LB), vtep: '192.0.2.1' },
  ],
}
const redirects = [
  { protocol: 'tcp' as const, ...TCP },
  { protocol: 'udp' as const, ...UDP },
]
const endpointsOn = (h: number) => [
  ...Object.entries(TASKS)
    .filter(([, [, host]]) => host === h)
    .map(([id, [ip]]) => ({ id, attachments: [{ networkId: 'ingress', ip, redirects }] })),
  // a host-mode task: no overlay, only its gateway leg
  ...(h === 0 ? [{ id: 'th', attachments: [] }] : []),
]
const web = (tasks: string[], draining: string[] = []): LbServiceSpec => ({
  id: 'web',
  vip: VIP,
  backends: [
    ...tasks.map((t) => ({ ip: ipOf(t), weight: 1 as const })),
    ...draining.map((t) => ({ ip: ipOf(t), weight: 0 as const })),
  ],
})
const PORTS: IngressPortSpec[] = [
  { protocol: 'tcp', published: TCP.published, serviceId: 'web' },
  { protocol: 'udp', published: UDP.published, serviceId: 'web' },
]
const ingressOf = (ports: IngressPortSpec[] = PORTS): IngressSpec => ({
  networkId: 'ingress',
  gatewayIp: GW_IP,
  ports,
  hostPorts: [{ protocol: 'tcp', published: HOST_PORT, target: TCP.target, endpointId: 'th' }],
})
const lbOf = (services: LbServiceSpec[]) => ({ networkId: 'ingress', address: LB, services })
/** `ingress` null: none. */
const h1Desired = (tasks = ['t1', 't2', 't3'], ingress: IngressSpec | null = ingressOf()): DesiredState => ({
  networks: [network],
  endpoints: endpointsOn(0),
  loadBalancers: [lbOf([web(tasks)])],
  ...(ingress === null ? {} : { ingress }),
})

describe('ingress routing mesh (nftables) on the real kernel', () => {
  let lab: SimLab
  let h1: SimHost
  let h2: SimHost
  let dp1: Dataplane
  let dp2: Dataplane
  const servers: ResultPromise[] = []
  let spawns: ReturnType<typeof spawnRecorder>
  const spawnedDuring = (f: () => Promise<unknown>) => spawns.during(f)

  const inExt = async (argv: string[]) => {
    const r = await execa('ip', ['netns', 'exec', lab.ext, ...argv], { reject: false })
    return { stdout: r.stdout, exitCode: r.exitCode ?? -1 }
  }
  /** n fresh connections from ext (or from h1 itself) to h1's underlay address: the answers. */
  async function curlMany(n: number, port = TCP.published, from: 'ext' | 'h1' = 'ext'): Promise<string[]> {
    const script = `for i in $(seq ${n}); do curl -sS --max-time 2 http://${h1.address}:${port}/; echo; done`
    const r =
      from === 'ext'
        ? await inExt(['sh', '-c', script])
        : await h1.run(['sh', '-c', script], { reject: false })
    return r.stdout.split('\n').filter((l) => l.length > 0)
  }
  const udpFrom40000 = async (): Promise<string> => {
    const r = await inExt([process.execPath, '-e', udpOnce(h1.address, UDP.published, 40000)])
    return r.exitCode === 0 ? r.stdout.trim() : `failed: ${r.stdout}`
  }
  const tasksOf = (answers: string[]) => new Set(answers.map((a) => a.split(' ')[0]))

  beforeAll(async () => {
    lab = await createLab(2)
    ;[h1, h2] = lab.hosts as [SimHost, SimHost]
    spawns = spawnRecorder(h1)
    dp1 = createDataplane(
      { logger: silentLogger },
      {
        advertiseAddress: h1.address,
        wrap: h1.wrap,
        lbBackend: 'nftables',
        onSpawn: spawns.onSpawn,
      },
    )
    dp2 = createDataplane({ logger: silentLogger }, { advertiseAddress: h2.address, wrap: h2.wrap })
    const r2 = await dp2.reconcile({ networks: [network], endpoints: endpointsOn(1) })
    expect(Object.fromEntries(r2.failed)).toEqual({})
    const r1 = await dp1.reconcile(h1Desired())
    expect(Object.fromEntries(r1.failed)).toEqual({})
    const ports = { tcp: TCP.target, udp: UDP.target }
    const started = await Promise.all([
      serveWhoami(h1, 'sn-ep-t1', 't1', ports),
      serveWhoami(h1, 'sn-ep-t2', 't2', ports),
      serveWhoami(h2, 'sn-ep-t3', 't3', ports),
      serveWhoami(h1, 'sn-ep-th', 'th', ports),
    ])
    servers.push(...started.map((s) => s.proc))
  })

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL')
    await Promise.allSettled(servers)
    await Promise.allSettled([dp1?.teardown(), dp2?.teardown()])
    await lab?.close()
  })

  it('builds the ingress leg and tables; a second reconcile finds nothing to do', async () => {
    const leg = JSON.parse((await h1.run(['ip', '-j', '-n', LB_NS, 'addr', 'show', 'gwbr0'])).stdout)[0]
    expect(leg.address).toBe(macOf(GW_IP))
    expect(leg.addr_info.filter((a: { family: string }) => a.family === 'inet')[0]).toMatchObject({
      local: GW_IP,
      prefixlen: 16,
    })
    const host = JSON.parse((await h1.run(['ip', '-j', 'link', 'show', 'sngw-_4200'])).stdout)[0]
    expect(host.master).toBe('sn_gwbridge')
    expect((await h1.run(['nft', 'list', 'table', 'ip', 'swarmnet-ingress'])).stdout).toContain('chain user')
    expect((await dp1.reconcile(h1Desired())).steps).toBe(0)
  })

  it('30 connections from outside to a published TCP port reach all 3 tasks (one across the vxlan), SNATed to the LB address', async () => {
    const answers = await waitFor('the published port answers', async () => {
      const got = await curlMany(30)
      return got.length === 30 ? got : undefined
    })
    for (const a of answers) expect(a.split(' ')[1]).toBe(LB)
    expect(tasksOf(answers)).toEqual(new Set(['t1', 't2', 't3']))
  })

  it('the node itself reaches its own published port', async () => {
    const answers = await curlMany(10, TCP.published, 'h1')
    expect(answers).toHaveLength(10)
    expect(tasksOf(answers).size).toBeGreaterThan(1)
  })

  it('a host-mode port reaches the local task, which sees the client`s real address', async () => {
    expect(await curlMany(3, HOST_PORT)).toEqual(Array(3).fill(`th ${lab.extAddress}`))
  })

  it('a UDP flow moves to another task when its task leaves (updateIngress deletes its conntrack entries)', async () => {
    await dp1.updateIngress(ingressOf(), lbOf([web(['t1'])]))
    expect(await udpFrom40000()).toBe(`t1 ${LB}`)
    await dp1.updateIngress(ingressOf(), lbOf([web(['t1', 't2'])]))
    for (let i = 0; i < 5; i++) expect(await udpFrom40000()).toBe(`t1 ${LB}`)
    const procs = await spawnedDuring(async () => {
      const r = await dp1.updateIngress(ingressOf(), lbOf([web(['t2'])]))
      expect(r.failed.size).toBe(0)
    })
    expect(procs.map((p) => p.argv)).toContain(`ip netns exec ${LB_NS} sh -c cat | exec conntrack -R -`)
    expect(procs.find((p) => p.argv.includes('conntrack'))?.input).toContain(
      `-D -d ${GW_IP} -r ${ipOf('t1')}`,
    )
    expect(await udpFrom40000()).toBe(`t2 ${LB}`)
  })

  it('with no live backend a published port refuses at once', async () => {
    await dp1.updateIngress(ingressOf(), lbOf([web([], ['t1'])]))
    const started = Date.now()
    const r = await inExt(['curl', '-sS', '--max-time', '2', `http://${h1.address}:${TCP.published}/`])
    expect(r.exitCode).toBe(7) // could not connect (a timeout would be 28)
    expect(Date.now() - started).toBeLessThan(1000)
    await dp1.updateIngress(ingressOf(), lbOf([web(['t1', 't2', 't3'])]))
    expect(tasksOf(await curlMany(20))).toEqual(new Set(['t1', 't2', 't3']))
  })

  it('updateIngress adds one published port among 200 with a small nft script and nothing observed', async () => {
    const many: IngressPortSpec[] = [...PORTS]
    for (let p = 20000; p < 20200; p++) many.push({ protocol: 'tcp', published: p, serviceId: 'web' })
    await dp1.updateIngress(ingressOf(many), lbOf([web(['t1', 't2', 't3'])]))
    const more = [...many, { protocol: 'tcp' as const, published: 21000, serviceId: 'web' }]
    let failed: ReadonlyMap<string, string> = new Map()
    const procs = await spawnedDuring(async () => {
      failed = (await dp1.updateIngress(ingressOf(more), lbOf([web(['t1', 't2', 't3'])]))).failed
    })
    expect(failed.size).toBe(0)
    expect(procs.map((p) => p.argv)).toEqual([`ip netns exec ${LB_NS} nft -f -`, 'nft -f -'])
    const bytes = procs.reduce((n, p) => n + p.input.length, 0)
    expect(bytes).toBeLessThan(400)
    expect(procs[1]?.input).toContain('tcp . 21000')
    // what the fast path wrote is what a full reconcile wants
    const desired = { ...h1Desired(), ingress: ingressOf(more) }
    expect((await dp1.reconcile(desired)).steps).toBe(0)
    // the port answers (the tasks' REDIRECT is only for 8080: a task refuses, so ask for an RST-free connect)
    await dp1.reconcile(h1Desired())
  })

  it('updateIngress removing a published port: it refuses at once, the other ports keep answering', async () => {
    await dp1.reconcile(h1Desired())
    const udpOnly = PORTS.filter((p) => p.protocol === 'udp')
    const procs = await spawnedDuring(() => dp1.updateIngress(ingressOf(udpOnly), lbOf([web(['t1'])])))
    expect(procs.find((p) => p.argv === 'nft -f -')?.input).toBe(
      `delete element ip swarmnet-ingress ports { tcp . ${TCP.published} }\n`,
    )
    const r = await inExt(['curl', '-sS', '--max-time', '2', `http://${h1.address}:${TCP.published}/`])
    expect(r.exitCode).not.toBe(0)
    expect(await udpFrom40000()).toMatch(/^t1 /)
    expect((await dp1.reconcile(h1Desired(['t1'], ingressOf(udpOnly)))).steps).toBe(0)
    await dp1.reconcile(h1Desired())
    expect(await curlMany(1)).toHaveLength(1)
  })

  it('updateIngress falls back to observing when the kernel drifted (host table deleted by hand); updateLoadBalancer of the ingress network keeps the mesh', async () => {
    await dp1.reconcile(h1Desired())
    await h1.run(['nft', 'delete', 'table', 'ip', 'swarmnet-ingress'])
    expect(await curlMany(1)).toEqual([])
    let failed: ReadonlyMap<string, string> = new Map()
    // a new port: the delta touches the host table, which the kernel no longer has
    const ports = [...PORTS, { protocol: 'tcp' as const, published: 8082, serviceId: 'web' }]
    const procs = await spawnedDuring(async () => {
      failed = (await dp1.updateIngress(ingressOf(ports), lbOf([web(['t1', 't3'])]))).failed
    })
    expect(failed.size).toBe(0)
    expect(procs.some((p) => p.argv === 'nft -j list ruleset')).toBe(true) // observed after the refusal
    expect(tasksOf(await curlMany(20))).toEqual(new Set(['t1', 't3']))
    // the worker's LB path for the same network: the published port follows the backends
    await dp1.updateLoadBalancer('ingress', lbOf([web(['t2'])]))
    expect(tasksOf(await curlMany(5))).toEqual(new Set(['t2']))
    expect((await dp1.reconcile(h1Desired(['t2'], ingressOf(ports)))).steps).toBe(0)
    await dp1.reconcile(h1Desired())
  })

  it('the operators` user chain filters published traffic and survives reconcile and updateIngress', async () => {
    await h1.run([
      'nft',
      'add',
      'rule',
      'ip',
      'swarmnet-ingress',
      'user',
      'ip',
      'saddr',
      lab.extAddress,
      'drop',
    ])
    expect(await curlMany(1)).toEqual([])
    await dp1.reconcile(h1Desired())
    await dp1.updateIngress(
      ingressOf([...PORTS, { protocol: 'tcp', published: 8081, serviceId: 'web' }]),
      lbOf([web(['t1'])]),
    )
    await dp1.reconcile(h1Desired())
    const user = (await h1.run(['nft', 'list', 'chain', 'ip', 'swarmnet-ingress', 'user'])).stdout
    expect(user).toContain(`ip saddr ${lab.extAddress} drop`)
    expect(await curlMany(1)).toEqual([])
    expect(await curlMany(1, TCP.published, 'h1')).toHaveLength(1) // the node itself is not filtered
    await h1.run(['nft', 'flush', 'chain', 'ip', 'swarmnet-ingress', 'user'])
    expect(await curlMany(1)).toHaveLength(1)
  })

  it('iptables FORWARD policy DROP: one jump to SWARMNET-FORWARD added, the other rules untouched, the mesh still serves', async () => {
    await h1.run(['iptables', '-P', 'FORWARD', 'DROP'])
    await h1.run(['iptables', '-A', 'FORWARD', '-s', '198.51.100.7', '-j', 'DROP'])
    const rulesOf = (save: string) =>
      save
        .split('\n')
        .filter((l) => l.startsWith('-A FORWARD') || l.startsWith(':FORWARD'))
        .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    const before = rulesOf((await h1.run(['iptables-save', '-t', 'filter'])).stdout)
    expect(await curlMany(1)).toEqual([]) // dropped before swarmnet knows
    const r = await dp1.reconcile(h1Desired())
    expect(r.failed.size).toBe(0)
    const after = rulesOf((await h1.run(['iptables-save', '-t', 'filter'])).stdout)
    expect(after).toEqual([before[0], '-A FORWARD -j SWARMNET-FORWARD', ...before.slice(1)])
    expect(tasksOf(await curlMany(20))).toEqual(new Set(['t1', 't2', 't3']))
    expect(await curlMany(1, HOST_PORT)).toEqual([`th ${lab.extAddress}`])
    // idempotent: nothing more added
    expect((await dp1.reconcile(h1Desired())).steps).toBe(0)
    const again = (await h1.run(['iptables-save', '-t', 'filter'])).stdout
    expect(again.match(/-j SWARMNET-FORWARD/g)).toHaveLength(1)
  })

  it('desired without ingress: no host table, no leg, no iptables chain or jump, no ingress table; and back', async () => {
    const r = await dp1.reconcile(h1Desired(['t1', 't2', 't3'], null))
    expect(r.failed.size).toBe(0)
    expect((await h1.run(['nft', 'list', 'tables'])).stdout).not.toContain('swarmnet-ingress')
    expect((await h1.run(['ip', '-br', 'link'])).stdout).not.toContain('sngw-_')
    const save = (await h1.run(['iptables-save', '-t', 'filter'])).stdout
    expect(save).not.toContain('SWARMNET')
    expect(save).toContain('-A FORWARD -s 198.51.100.7/32 -j DROP')
    expect((await h1.run(['ip', 'netns', 'exec', LB_NS, 'nft', 'list', 'tables'])).stdout).not.toContain(
      'swarmnet-ingress',
    )
    expect((await h1.run(['ip', '-br', '-n', LB_NS, 'link'])).stdout).not.toContain('gwbr0')
    const refused = await inExt(['curl', '-sS', '--max-time', '2', `http://${h1.address}:${TCP.published}/`])
    expect(refused.exitCode).not.toBe(0)
    expect((await dp1.reconcile(h1Desired(['t1', 't2', 't3'], null))).steps).toBe(0)
    // back on the same names at once
    expect((await dp1.reconcile(h1Desired())).failed.size).toBe(0)
    await waitFor('the published port answers again', async () =>
      (await curlMany(1)).length === 1 ? true : undefined,
    )
  })
})
