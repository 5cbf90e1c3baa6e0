// The service load balancer (nftables backend) on the real kernel: two simulated hosts,
// three task sandboxes serving their own name over HTTP and UDP (two on h1, one on h2 across
// the vxlan), a client sandbox on h1 and h1's LB namespace: spread over all backends, SNAT to
// the LB address, a second VIP side by side (a change to one sends only its elements),
// refusal with no backend, conntrack entries of a departed backend deleted, drift repair,
// the updateLoadBalancer fast path (nothing observed) and its fallback, clean removal.
import {
  createDataplane,
  type Dataplane,
  type DesiredState,
  type LbServiceSpec,
  type NetworkSpec,
} from '@swarmnet/dataplane'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, macOf, type SimHost, type SimLab, silentLogger, waitFor } from './helpers/hosts.js'

const logger = silentLogger

const LB = '10.0.1.250'
const LB_NS = 'sn-lb-4097'
const VIP_A = '10.0.1.100'
const VIP_B = '10.0.1.101'
const VIP_C = '10.0.1.102'
const VIP_D = '10.0.1.103'
// task → [ip, host index]
const TASKS: Record<string, [string, number]> = {
  t1: ['10.0.1.2', 0],
  t2: ['10.0.1.3', 0],
  t3: ['10.0.1.4', 1],
}
const CLIENT = { id: 'c', ip: '10.0.1.5' }

const network: NetworkSpec = {
  id: 'net-a',
  vni: 4097,
  subnet: '10.0.1.0/24',
  gateway: '10.0.1.1',
  // the LB address is an endpoint of h1 like any other: h2 must reach it for the replies
  peers: [
    ...Object.values(TASKS).map(([ip, h]) => ({ ip, mac: macOf(ip), vtep: `192.0.2.${h + 1}` })),
    { ip: CLIENT.ip, mac: macOf(CLIENT.ip), vtep: '192.0.2.1' },
    { ip: LB, mac: macOf(LB), vtep: '192.0.2.1' },
  ],
}
const endpointsOn = (h: number) => [
  ...Object.entries(TASKS)
    .filter(([, [, host]]) => host === h)
    .map(([id, [ip]]) => ({ id, attachments: [{ networkId: 'net-a', ip }] })),
  ...(h === 0 ? [{ id: CLIENT.id, attachments: [{ networkId: 'net-a', ip: CLIENT.ip }] }] : []),
]
const service = (id: string, vip: string, tasks: string[], draining: string[] = []): LbServiceSpec => ({
  id,
  vip,
  backends: [
    ...tasks.map((t) => ({ ip: (TASKS[t] as [string, number])[0], weight: 1 as const })),
    ...draining.map((t) => ({ ip: (TASKS[t] as [string, number])[0], weight: 0 as const })),
  ],
})
const h1Desired = (services: LbServiceSpec[] | undefined): DesiredState => ({
  networks: [network],
  endpoints: endpointsOn(0),
  ...(services === undefined ? {} : { loadBalancers: [{ networkId: 'net-a', address: LB, services }] }),
})

describe('service load balancer (nftables) on the real kernel', () => {
  let lab: SimLab
  let h1: SimHost
  let h2: SimHost
  let dp1: Dataplane
  let dp2: Dataplane
  const servers: ResultPromise[] = []
  /** Every process dp1 spawned: argv (without the host's wrap) and its stdin. */
  const spawned: { argv: string; input: string }[] = []
  const spawnedDuring = async (f: () => Promise<unknown>) => {
    const from = spawned.length
    await f()
    return spawned.slice(from)
  }
  const nftInput = (procs: { argv: string; input: string }[]) =>
    procs
      .filter((p) => p.argv.includes('nft -f'))
      .map((p) => p.input)
      .join('')

  const inNs = (h: SimHost, ns: string, argv: string[], reject = false) =>
    h.run(['ip', 'netns', 'exec', ns, ...argv], { reject })

  async function serve(h: SimHost, task: string): Promise<void> {
    const code = [
      `const n=${JSON.stringify(task)};`,
      "require('http').createServer((q,s)=>s.end(n+' '+q.socket.remoteAddress)).listen(8080,'0.0.0.0',()=>{",
      "const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send(n+' '+r.address,r.port,r.address));",
      "u.bind(5353,'0.0.0.0',()=>console.log('listening'))})",
    ].join('')
    const p = execa(
      h.wrap[0] as string,
      [...h.wrap.slice(1), 'ip', 'netns', 'exec', `sn-ep-${task}`, process.execPath, '-e', code],
      {
        reject: false,
      },
    )
    servers.push(p)
    await new Promise<void>((resolve, reject) => {
      p.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve())
      void p.then((r) => reject(new Error(`server ${task} exited: ${r.stderr}`)))
    })
  }

  /** n fresh TCP connections from the client to `vip`: the answers (`<task> <source seen>`). */
  async function curlMany(vip: string, n: number): Promise<string[]> {
    const script = `for i in $(seq ${n}); do curl -sS --max-time 2 http://${vip}:8080/; echo; done`
    const r = await inNs(h1, `sn-ep-${CLIENT.id}`, ['sh', '-c', script])
    return r.stdout.split('\n').filter((l) => l.length > 0)
  }

  /** One UDP datagram from the client's fixed port 40000 to `vip`: who answered. */
  async function udpFrom40000(vip: string): Promise<string> {
    const code = `const u=require('dgram').createSocket('udp4');u.bind(40000,()=>{u.send('x',5353,${JSON.stringify(vip)});});u.on('message',(m)=>{console.log(String(m));process.exit(0)});setTimeout(()=>process.exit(1),1500)`
    const r = await inNs(h1, `sn-ep-${CLIENT.id}`, [process.execPath, '-e', code])
    return r.exitCode === 0 ? r.stdout.trim() : `failed: ${r.stdout}`
  }

  /** One set or map of h1's LB table as `nft list` prints it. */
  async function setElements(name: string): Promise<string> {
    const kind = name.startsWith('bk-') ? 'map' : 'set'
    const r = await inNs(h1, LB_NS, ['nft', 'list', kind, 'ip', 'swarmnet-lb', name], true)
    return r.stdout
  }

  beforeAll(async () => {
    lab = await createLab(2)
    ;[h1, h2] = lab.hosts as [SimHost, SimHost]
    dp1 = createDataplane(
      { logger },
      {
        advertiseAddress: h1.address,
        wrap: h1.wrap,
        lbBackend: 'nftables',
        onSpawn: (argv, input) => spawned.push({ argv: argv.slice(h1.wrap.length).join(' '), input }),
      },
    )
    dp2 = createDataplane({ logger }, { advertiseAddress: h2.address, wrap: h2.wrap })
    await dp2.reconcile({ networks: [network], endpoints: endpointsOn(1) })
    const r = await dp1.reconcile(h1Desired([service('svc-a', VIP_A, ['t1', 't2', 't3'])]))
    expect(Object.fromEntries(r.failed)).toEqual({})
    await Promise.all([serve(h1, 't1'), serve(h1, 't2'), serve(h2, 't3')])
  })

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL')
    await Promise.allSettled(servers)
    await Promise.allSettled([dp1?.teardown(), dp2?.teardown()])
    await lab?.close()
  })

  it('builds the LB namespace: the leg in br0 with the LB address and the VIP; the backend reported', async () => {
    expect(await dp1.lbBackend()).toBe('nftables')
    const addrs = await inNs(h1, LB_NS, ['ip', '-j', 'addr', 'show', 'eth0'], true)
    const inet = (
      JSON.parse(addrs.stdout)[0].addr_info as { family: string; local: string; prefixlen: number }[]
    )
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`)
    expect(inet.sort()).toEqual([`${VIP_A}/32`, `${LB}/24`])
    const leg = await h1.run(['ip', '-j', '-n', 'sn-ov-4097', 'link', 'show', 'lb-4097'])
    expect(JSON.parse(leg.stdout)[0]).toMatchObject({ master: 'br0', mtu: 1450 })
    // a second reconcile reads the real nft/ip/sysctl state back and finds nothing to do
    const again = await dp1.reconcile(h1Desired([service('svc-a', VIP_A, ['t1', 't2', 't3'])]))
    expect(again.steps).toBe(0)
  })

  it('30 connections to the VIP reach all 3 backends (one across the vxlan), each seeing the LB address', async () => {
    const answers = await waitFor('the VIP answers', async () => {
      const got = await curlMany(VIP_A, 30)
      return got.length === 30 ? got : undefined
    })
    const byTask = new Map<string, number>()
    for (const a of answers) {
      const [task, source] = a.split(' ')
      expect(source).toBe(LB)
      byTask.set(task as string, (byTask.get(task as string) ?? 0) + 1)
    }
    expect([...byTask.keys()].sort()).toEqual(['t1', 't2', 't3'])
  })

  it('a second VIP works side by side; changing A sends only A`s elements (B`s stay as they were)', async () => {
    await dp1.reconcile(
      h1Desired([service('svc-a', VIP_A, ['t1', 't2', 't3']), service('svc-b', VIP_B, ['t3'])]),
    )
    expect(await curlMany(VIP_B, 3)).toEqual([`t3 ${LB}`, `t3 ${LB}`, `t3 ${LB}`])
    const bBefore = await setElements('bk-1')
    expect(bBefore).toContain(`${VIP_B} . 0 : 10.0.1.4`)
    const procs = await spawnedDuring(async () => {
      const r = await dp1.reconcile(
        h1Desired([service('svc-a', VIP_A, ['t1', 't2']), service('svc-b', VIP_B, ['t3'])]),
      )
      expect(r.steps).toBeGreaterThan(0)
    })
    const script = nftInput(procs)
    expect(script).toContain(VIP_A)
    expect(script).not.toContain(VIP_B)
    expect(await setElements('bk-1')).toBe(bBefore)
    const answers = await curlMany(VIP_A, 20)
    expect(new Set(answers.map((a) => a.split(' ')[0]))).toEqual(new Set(['t1', 't2']))
  })

  it('with no live backend a connection to the VIP is refused at once', async () => {
    await dp1.reconcile(h1Desired([service('svc-a', VIP_A, [], ['t1']), service('svc-b', VIP_B, ['t3'])]))
    const started = Date.now()
    const r = await inNs(h1, `sn-ep-${CLIENT.id}`, [
      'curl',
      '-sS',
      '--max-time',
      '1',
      `http://${VIP_A}:8080/`,
    ])
    expect(r.exitCode).toBe(7)
    expect(Date.now() - started).toBeLessThan(1000)
    // exit 7 is curl's "could not connect" (a timeout would be 28); the socket error says why
    const connect = `require('net').connect(8080,${JSON.stringify(VIP_A)}).on('error',(e)=>{console.log(e.code);process.exit(0)}).on('connect',()=>process.exit(1))`
    const refused = await inNs(h1, `sn-ep-${CLIENT.id}`, [process.execPath, '-e', connect])
    expect(refused.stdout.trim()).toBe('ECONNREFUSED')
    expect(await curlMany(VIP_B, 1)).toEqual([`t3 ${LB}`])
  })

  it('a departed backend loses its conntrack entries: a UDP flow moves on', async () => {
    await dp1.reconcile(h1Desired([service('svc-a', VIP_A, ['t1']), service('svc-b', VIP_B, ['t3'])]))
    expect(await udpFrom40000(VIP_A)).toBe(`t1 ${LB}`)
    // t2 joins: the flow from port 40000 stays on t1 (conntrack) however often it is sent
    await dp1.reconcile(h1Desired([service('svc-a', VIP_A, ['t1', 't2']), service('svc-b', VIP_B, ['t3'])]))
    for (let i = 0; i < 5; i++) expect(await udpFrom40000(VIP_A)).toBe(`t1 ${LB}`)
    const listed = async () =>
      (await inNs(h1, LB_NS, ['conntrack', '-L', '-p', 'udp', '-r', '10.0.1.2'], true)).stdout
    expect(await listed()).toContain('src=10.0.1.2')
    // t1 leaves (its server still runs: only the deleted entry can move the flow)
    const r = await dp1.reconcile(
      h1Desired([service('svc-a', VIP_A, ['t2']), service('svc-b', VIP_B, ['t3'])]),
    )
    expect(r.failed.size).toBe(0)
    expect(await listed()).not.toContain('src=10.0.1.2')
    expect(await udpFrom40000(VIP_A)).toBe(`t2 ${LB}`)
  })

  it('repairs drift: a VIP address deleted, the table flushed', async () => {
    const desired = h1Desired([service('svc-a', VIP_A, ['t1', 't2', 't3']), service('svc-b', VIP_B, ['t3'])])
    await dp1.reconcile(desired)
    await inNs(h1, LB_NS, ['ip', 'addr', 'del', `${VIP_B}/32`, 'dev', 'eth0'], true)
    const r1 = await dp1.reconcile(desired)
    expect(r1.steps).toBe(1)
    expect(await curlMany(VIP_B, 1)).toEqual([`t3 ${LB}`])
    await inNs(h1, LB_NS, ['nft', 'flush', 'table', 'ip', 'swarmnet-lb'], true)
    expect(await curlMany(VIP_A, 1)).toEqual([]) // no rule: the LB's own stack refuses
    const r2 = await dp1.reconcile(desired)
    expect(r2.steps).toBe(1)
    expect(new Set((await curlMany(VIP_A, 30)).map((a) => a.split(' ')[0]))).toEqual(
      new Set(['t1', 't2', 't3']),
    )
    expect((await dp1.reconcile(desired)).steps).toBe(0)
  })

  it('updateLoadBalancer programs a new service from the last applied spec: nothing observed', async () => {
    const base = [service('svc-a', VIP_A, ['t1', 't2', 't3']), service('svc-b', VIP_B, ['t3'])]
    await dp1.reconcile(h1Desired(base))
    const lb = (services: LbServiceSpec[]) => ({ networkId: 'net-a', address: LB, services })
    const before = dp1.processes
    let r = { steps: 0, processes: 0, failed: new Map<string, string>() as ReadonlyMap<string, string> }
    const procs = await spawnedDuring(async () => {
      r = await dp1.updateLoadBalancer('net-a', lb([...base, service('svc-c', VIP_C, ['t1', 't3'])]))
    })
    expect(r.failed.size).toBe(0)
    // one nft transaction and one ip batch for the VIP address; no `nft list`, no `ip -j`
    expect(procs.map((p) => p.argv)).toEqual([`ip netns exec ${LB_NS} nft -f -`, `ip -n ${LB_NS} -batch -`])
    expect(r.processes).toBe(2)
    expect(dp1.processes - before).toBe(2)
    const script = nftInput(procs)
    expect(script).toContain(VIP_C)
    expect(script).not.toContain(VIP_A)
    expect(script).not.toContain(VIP_B)
    expect(new Set((await curlMany(VIP_C, 20)).map((a) => a.split(' ')[0]))).toEqual(new Set(['t1', 't3']))
    // what the fast path wrote is what a full reconcile wants: nothing left to do
    expect((await dp1.reconcile(h1Desired([...base, service('svc-c', VIP_C, ['t1', 't3'])]))).steps).toBe(0)
    // the backend a UDP flow sticks to leaves: its conntrack entries go in the same update
    const who = (await udpFrom40000(VIP_C)).split(' ')[0] as string
    const other = who === 't1' ? 't3' : 't1'
    const moved = await spawnedDuring(() =>
      dp1.updateLoadBalancer('net-a', lb([...base, service('svc-c', VIP_C, [other])])),
    )
    expect(moved.map((p) => p.argv)).toEqual([
      `ip netns exec ${LB_NS} nft -f -`,
      `ip netns exec ${LB_NS} sh -c cat | exec conntrack -R -`,
    ])
    expect(await udpFrom40000(VIP_C)).toBe(`${other} ${LB}`)
    // and C removed again the same way: its address is gone, the others answer
    const gone = await spawnedDuring(() => dp1.updateLoadBalancer('net-a', lb(base)))
    expect(gone.some((p) => p.argv.includes(' list'))).toBe(false)
    const addrs = await inNs(h1, LB_NS, ['ip', '-br', 'addr', 'show', 'eth0'], true)
    expect(addrs.stdout).not.toContain(`${VIP_C}/32`)
    expect(await curlMany(VIP_B, 1)).toEqual([`t3 ${LB}`])
  })

  it('updateLoadBalancer falls back to observing the LB namespace when the kernel drifted (table deleted by hand)', async () => {
    const base = [service('svc-a', VIP_A, ['t1', 't2', 't3']), service('svc-b', VIP_B, ['t3'])]
    const lb = (services: LbServiceSpec[]) => ({ networkId: 'net-a', address: LB, services })
    await dp1.reconcile(h1Desired(base))
    await inNs(h1, LB_NS, ['nft', 'delete', 'table', 'ip', 'swarmnet-lb'], true)
    expect(await curlMany(VIP_A, 1)).toEqual([]) // no rule: the LB's own stack refuses
    const withD = [...base, service('svc-d', VIP_D, ['t2'])]
    let failed: ReadonlyMap<string, string> = new Map()
    const procs = await spawnedDuring(async () => {
      failed = (await dp1.updateLoadBalancer('net-a', lb(withD))).failed
    })
    expect(failed.size).toBe(0)
    const argvs = procs.map((p) => p.argv)
    // the delta was refused as a whole, then the namespace was read and its table written whole
    expect(argvs[0]).toBe(`ip netns exec ${LB_NS} nft -f -`)
    expect(argvs).toContain(`ip netns exec ${LB_NS} nft -j list table ip swarmnet-lb`)
    expect(nftInput(procs.slice(1))).toMatch(/^table ip swarmnet-lb \{\}\ndelete table/)
    expect(await curlMany(VIP_D, 3)).toEqual([`t2 ${LB}`, `t2 ${LB}`, `t2 ${LB}`])
    expect(new Set((await curlMany(VIP_A, 30)).map((a) => a.split(' ')[0]))).toEqual(
      new Set(['t1', 't2', 't3']),
    )
    // the spec it then applied is the fast path's base again
    const next = await spawnedDuring(() => dp1.updateLoadBalancer('net-a', lb(base)))
    expect(next.some((p) => p.argv.includes(' list'))).toBe(false)
    expect((await dp1.reconcile(h1Desired(base))).steps).toBe(0)
  })

  it('IPVS backend on a kernel without IPVS: its nft part loads, the LB alone fails, the sandboxes stay', async () => {
    const dpIpvs = createDataplane(
      { logger },
      { advertiseAddress: h1.address, wrap: h1.wrap, lbBackend: 'ipvs' },
    )
    const desired = h1Desired([service('svc-a', VIP_A, ['t1', 't2'])])
    const r = await dpIpvs.reconcile(desired)
    expect([...r.failed.keys()]).toEqual(['lb:net-a'])
    const table = JSON.parse(
      (await inNs(h1, LB_NS, ['nft', '-j', 'list', 'table', 'ip', 'swarmnet-lb'], true)).stdout,
    )
    const map = (table.nftables as Record<string, { name?: string; elem?: unknown[] }>[]).find(
      (i) => 'map' in i,
    )?.map
    expect(map?.name).toBe('marks')
    expect(map?.elem).toHaveLength(1)
    // the sandboxes were not touched: a task still answers directly
    expect(
      (await inNs(h1, `sn-ep-${CLIENT.id}`, ['curl', '-sS', '--max-time', '2', 'http://10.0.1.2:8080/']))
        .stdout,
    ).toBe('t1 10.0.1.5')
    // the nftables dataplane takes the namespace back: the whole table replaced
    await dp1.reconcile(desired)
    expect(new Set((await curlMany(VIP_A, 20)).map((a) => a.split(' ')[0]))).toEqual(new Set(['t1', 't2']))
  })

  it('desired without load balancers: the LB namespace, its leg and its table are gone', async () => {
    const r = await dp1.reconcile(h1Desired(undefined))
    expect(r.failed.size).toBe(0)
    const netns = (await h1.run(['ip', 'netns', 'list'])).stdout
    expect(netns).not.toContain('sn-lb-')
    const links = (await h1.run(['ip', '-n', 'sn-ov-4097', '-br', 'link', 'show'])).stdout
    expect(links).not.toContain('lb-4097')
    expect((await h1.run(['nft', 'list', 'tables'])).stdout).not.toContain('swarmnet-lb')
    // and back again at once, on the same names
    const back = await dp1.reconcile(h1Desired([service('svc-a', VIP_A, ['t3'])]))
    expect(back.failed.size).toBe(0)
    await waitFor('the VIP answers again', async () =>
      (await curlMany(VIP_A, 1))[0] === `t3 ${LB}` ? true : undefined,
    )
    await dp1.reconcile(h1Desired(undefined))
    expect((await h1.run(['ip', 'netns', 'list'])).stdout).not.toContain('sn-lb-')
  })
})
