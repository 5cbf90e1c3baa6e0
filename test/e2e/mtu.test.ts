/**
 * Issue 10 acceptance on the lab: the underlay's real MTU. Nodes report the MTU of their
 * advertise interface; a network defaults to the smallest − 50 and that one value is on
 * vxlan0, br0 and every sandbox leg in every namespace of every host; a 1 MB HTTP body
 * crosses between tasks on two hosts; an underlay too small for a network's MTU is reported;
 * bad input changes nothing. Also: the agent runs as `swarmnet-agent`.
 */
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  dumpAgentLogs,
  formCluster,
  newLab,
  sw,
  swJson,
  swOk,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'

interface LinkJson {
  ifname: string
  mtu: number
}
interface NetJson {
  name: string
  vni: number
  mtu: number
}
interface NodeJson {
  hostname: string
  underlayMtu?: number
  warnings: string[]
}
interface TaskJson {
  id: string
  node: string
  state: string
  desiredState: string
  addresses: Array<{ ip: string }>
}

/** MTU of every swarmnet link (not lo, not the gateway leg) in every sn-* namespace of a host. */
async function overlayMtus(lab: Lab, host: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  // not the ingress network's: it has the MTU of the cluster's init (the default), whatever a test's network has
  const [ingress] = await swJson<Array<{ vni: number }>>(lab, 1, 'network', 'inspect', 'ingress')
  const mesh = new Set([`sn-ov-${ingress?.vni}`, `sn-lb-${ingress?.vni}`])
  const names = (await lab.exec(host, ['ip', 'netns'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('sn-') && !mesh.has(n))
  for (const ns of names) {
    const links = JSON.parse((await lab.exec(host, ['ip', '-n', ns, '-j', 'link'])).stdout) as LinkJson[]
    for (const l of links) if (l.ifname !== 'lo' && l.ifname !== 'gwbr0') out.set(`${ns}/${l.ifname}`, l.mtu)
  }
  return out
}

/** Runs a check on 2 hosts with the given underlay MTU. */
function labWithMtu(prefix: string, mtu: number): { lab: () => Lab } {
  let lab: Lab
  beforeAll(async () => {
    lab = newLab(prefix, 2, { mtu })
    await lab.up()
    await formCluster(lab, 2)
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 2)
  })
  afterAll(async () => {
    await lab?.down()
  })
  return { lab: () => lab }
}

describe('underlay MTU 1400 (lab of 2 hosts)', () => {
  const { lab } = labWithMtu('mt', 1400)
  const hostOf = (hostname: string): number => Number(hostname.split('-').at(-1))

  it('runs the agent as swarmnet-agent', async () => {
    for (const h of [1, 2]) {
      const r = await lab().exec(h, ['pgrep', '-x', 'swarmnet-agent'])
      expect(r.exitCode).toBe(0)
      const { pid } = await swJson<{ pid: number }>(lab(), h, 'info')
      expect(r.stdout.trim().split('\n')).toContain(String(pid))
    }
  })

  it('refuses a bad mtu option and changes nothing', async () => {
    for (const [v, why] of [
      ['abc', /expected a number/],
      ['575', /576-8950/],
      ['9000', /576-8950/],
    ] as const) {
      const r = await sw(lab(), 1, 'network', 'create', '--opt', `mtu=${v}`, 'badnet')
      expect(r.exitCode, v).not.toBe(0)
      expect(r.stderr).toMatch(why)
    }
    expect(await userNetworks<unknown>(lab(), 1)).toEqual([])
  })

  it('nodes report 1400, and a network defaults to 1350', async () => {
    const nodes = await waitFor('both nodes report their MTU', 20_000, async () => {
      const n = await swJson<NodeJson[]>(lab(), 1, 'node', 'ls')
      return n.length === 2 && n.every((x) => x.underlayMtu === 1400) ? n : undefined
    })
    expect(nodes.map((n) => n.warnings)).toEqual([[], []])
    await swOk(lab(), 1, 'network', 'create', 'appnet')
    const [net] = await userNetworks<NetJson>(lab(), 1)
    expect(net?.mtu).toBe(1350)
    expect(JSON.parse(await swOk(lab(), 1, 'network', 'inspect', 'appnet'))[0].mtu).toBe(1350)
    expect((await swJson<{ underlayMtu: number }>(lab(), 2, 'info')).underlayMtu).toBe(1400)
  })

  it('puts 1350 in every namespace, and a 1 MB HTTP body crosses between tasks on two hosts', async () => {
    const serve = "require('http').createServer((q,r)=>r.end(Buffer.alloc(1<<20,120))).listen(8080)"
    // the project's Node (the test runner's) serves 1 MiB of 'x' on every request
    const node = process.execPath
    await swOk(
      lab(),
      1,
      'service',
      'create',
      '-d',
      '--name',
      'big',
      '--replicas',
      '2',
      '--network',
      'appnet',
      '--',
      node,
      '-e',
      serve,
    )
    const tasks = await waitFor('2 running tasks on 2 hosts', 60_000, async () => {
      const t = (await swJson<TaskJson[]>(lab(), 1, 'service', 'ps', 'big')).filter(
        (x) => x.desiredState === 'running' && x.state === 'running' && x.addresses.length === 1,
      )
      return t.length === 2 && new Set(t.map((x) => x.node)).size === 2 ? t : undefined
    })
    for (const h of [1, 2]) {
      const mtus = await overlayMtus(lab(), h)
      expect([...mtus.keys()].some((k) => k.endsWith('/vxlan0'))).toBe(true)
      expect([...mtus.keys()].some((k) => k.startsWith('sn-ep-') && k.endsWith('/eth0'))).toBe(true)
      for (const [link, mtu] of mtus) expect(`${link} ${mtu}`).toBe(`${link} 1350`)
    }
    const [a, b] = tasks as [TaskJson, TaskJson]
    const ip = b.addresses[0]?.ip ?? ''
    const inA = (...argv: string[]) => sw(lab(), hostOf(a.node), 'exec', a.id, '--', ...argv)
    const got = await waitFor('1 MB from the other host', 30_000, async () => {
      const r = await inA(
        'curl',
        '-s',
        '--max-time',
        '10',
        '-o',
        '/dev/null',
        '-w',
        '%{size_download}',
        `http://${ip}:8080/`,
      )
      return r.stdout.trim() === String(1 << 20) ? r.stdout.trim() : undefined
    })
    expect(got).toBe('1048576')
    // full-size frames pass without fragmentation (DF set); one byte more does not leave the task
    const ping = (size: number) => inA('ping', '-c', '1', '-W', '2', '-M', 'do', '-s', String(size), ip)
    expect((await ping(1350 - 28)).exitCode).toBe(0)
    expect((await ping(1350 - 27)).exitCode).not.toBe(0)
    await swOk(lab(), 1, 'service', 'rm', 'big')
  })

  it('a network above what the underlay carries is reported by node inspect, info and the log', async () => {
    await swOk(lab(), 1, 'network', 'create', '--opt', 'mtu=1450', 'bignet')
    const warning = 'underlay MTU 1400 cannot carry network bignet (MTU 1450 needs 1500)'
    const [node] = JSON.parse(await swOk(lab(), 1, 'node', 'inspect', lab().hostname(2))) as NodeJson[]
    expect(node?.warnings.join('\n')).toContain(warning)
    const info = await waitFor('the warning in info (next heartbeat)', 20_000, async () => {
      const i = await swJson<{ warnings: string[] }>(lab(), 2, 'info')
      return i.warnings.some((w) => w.includes(warning)) ? i : undefined
    })
    expect(info.warnings).toHaveLength(1)
    expect(await swOk(lab(), 2, 'info')).toContain(warning)
    const log = await lab().exec(2, ['cat', '/var/log/swarmnet/agent.log'])
    expect(log.stdout).toContain(warning)
    await swOk(lab(), 1, 'network', 'rm', 'bignet')
  })
})

describe('underlay MTU 9000 (lab of 2 hosts)', () => {
  const { lab } = labWithMtu('mj', 9000)

  /**
   * Attaches an endpoint of `net` on each host; every swarmnet link of both hosts has `mtu`;
   * a DF ping of exactly `mtu` crosses and one byte more does not leave; detaches again.
   */
  async function expectNetworkMtu(net: string, mtu: number): Promise<void> {
    type Ep = { ip: string; namespace: string }
    const e1 = await swJson<Ep>(lab(), 1, 'endpoint', 'attach', '--id', `${net}1`, net)
    const e2 = await swJson<Ep>(lab(), 2, 'endpoint', 'attach', '--id', `${net}2`, net)
    for (const h of [1, 2]) {
      const mtus = await overlayMtus(lab(), h)
      expect(mtus.size).toBeGreaterThanOrEqual(4)
      for (const [link, m] of mtus) expect(`${link} ${m}`).toBe(`${link} ${mtu}`)
    }
    const ping = (size: number) =>
      lab().exec(1, ['ip', 'netns', 'exec', e1.namespace, 'ping', '-c1', '-W2', '-Mdo', `-s${size}`, e2.ip])
    await waitFor(`a ${mtu}-byte ping across`, 20_000, async () =>
      (await ping(mtu - 28)).exitCode === 0 ? true : undefined,
    )
    expect((await ping(mtu - 27)).exitCode).not.toBe(0)
    await swOk(lab(), 1, 'endpoint', 'detach', `${net}1`)
    await swOk(lab(), 2, 'endpoint', 'detach', `${net}2`)
  }

  it('defaults a network to 8950, on every link of both hosts, and jumbo frames cross', async () => {
    await waitFor('both nodes report 9000', 20_000, async () => {
      const n = await swJson<NodeJson[]>(lab(), 1, 'node', 'ls')
      return n.length === 2 && n.every((x) => x.underlayMtu === 9000) ? n : undefined
    })
    await swOk(lab(), 1, 'network', 'create', 'jumbo')
    expect((await userNetworks<NetJson>(lab(), 1))[0]?.mtu).toBe(8950)
    await expectNetworkMtu('jumbo', 8950)
  })

  it('gives a network with -o mtu=1400 that MTU on every node, not the underlay default', async () => {
    await swOk(lab(), 1, 'network', 'create', '-o', 'mtu=1400', 'small')
    const small = (await userNetworks<NetJson>(lab(), 1)).find((n) => n.name === 'small')
    expect(small?.mtu).toBe(1400)
    await expectNetworkMtu('small', 1400)
  })
})
