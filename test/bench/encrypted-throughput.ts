/**
 * Encrypted overlay throughput against a plain overlay, on the same 2-VM cluster in the same
 * run (VM tier: ESP exists only in the VMs' kernel; QEMU TCG, so absolute numbers are a
 * fraction of real hardware and the ratio is the figure to read).
 *
 * Two networks (`-o encrypted` and plain), a whoami task of each on each VM; from the task on
 * VM 1, curl fetches `/bytes/N` from the task on VM 2 over each network, `--runs` times,
 * alternating which network goes first. Mbit/s = bytes × 8 / curl's time_total. The same
 * server and client work on both paths, so the difference is vxlan-in-ESP (AES-GCM in
 * software) against plain vxlan.
 *
 * Run as root: node test/bench/encrypted-throughput.ts [--runs 3] [--mib 16]
 * Prints a table and one JSON line. Not a CI gate.
 */
import { sandboxNamespace } from '@swarmnet/dataplane'
import type { Lab } from '@swarmnet/lab'
import { numArg, pct, round, table, waitFor, withLab } from './lib.ts'

const RUNS = numArg('runs', 3)
const MIB = numArg('mib', 16)
const VM_BIN = '/opt/swarmnet/bin/swarmnet'

interface Task {
  id: string
  node: string
  state: string
  desiredState: string
  addresses: Array<{ ip: string }>
}

async function vsw(lab: Lab, host: number, ...args: string[]): Promise<string> {
  const r = await lab.exec(host, [VM_BIN, ...args], { signal: AbortSignal.timeout(240_000) })
  if (r.exitCode !== 0) throw new Error(`swarmnet ${args.join(' ')} on VM ${host}: ${r.stderr}`)
  return r.stdout
}

/** One fetch of MIB MiB from `to` in the sandbox of `from` (on VM 1): Mbit/s. */
async function fetchMbps(lab: Lab, from: Task, to: Task): Promise<number> {
  const bytes = MIB * 1024 * 1024
  const r = await lab.exec(1, [
    ...['ip', 'netns', 'exec', sandboxNamespace(from.id), 'curl', '-s', '-o', '/dev/null'],
    ...['-w', '%{size_download} %{time_total}', '--max-time', '300'],
    `http://${to.addresses[0]?.ip}:8080/bytes/${bytes}`,
  ])
  const [size, secs] = r.stdout.trim().split(' ').map(Number)
  if (r.exitCode !== 0 || size !== bytes || !secs) throw new Error(`fetch failed: ${r.stdout} ${r.stderr}`)
  return (bytes * 8) / secs / 1e6
}

const result = await withLab(
  'esp',
  2,
  async (lab) => {
    await vsw(lab, 1, 'init', '--advertise-addr', lab.hostAddress(1))
    const token = (await vsw(lab, 1, 'join-token', '-q', 'worker')).trim()
    await vsw(lab, 2, 'join', '--token', token, lab.hostAddress(1))
    await vsw(lab, 1, 'network', 'create', '-o', 'encrypted', 'secure')
    await vsw(lab, 1, 'network', 'create', 'plain')
    const tasks: Record<string, Task[]> = {}
    for (const [svc, net] of [
      ['sec', 'secure'],
      ['pln', 'plain'],
    ] as const) {
      await vsw(
        lab,
        1,
        'service',
        'create',
        '--name',
        svc,
        '--replicas',
        '2',
        '--network',
        net,
        '--',
        VM_BIN,
        'whoami',
        '--port',
        '8080',
      )
      tasks[svc] = await waitFor(`${svc} running on both VMs`, 600_000, async () => {
        const ts = (JSON.parse(await vsw(lab, 1, 'service', 'ps', svc, '--format', 'json')) as Task[]).filter(
          (t) => t.desiredState === 'running',
        )
        return ts.length === 2 &&
          ts.every((t) => t.state === 'running') &&
          new Set(ts.map((t) => t.node)).size === 2
          ? ts
          : undefined
      })
    }
    const pair = (svc: string) => {
      const ts = tasks[svc] ?? []
      const from = ts.find((t) => t.node === lab.hostname(1)) as Task
      const to = ts.find((t) => t.node === lab.hostname(2)) as Task
      return { from, to }
    }
    const mbps: Record<'encrypted' | 'plain', number[]> = { encrypted: [], plain: [] }
    const paths = { encrypted: pair('sec'), plain: pair('pln') }
    // warm up both paths (ARP, first connection)
    for (const p of Object.values(paths))
      await waitFor('path up', 120_000, () => fetchMbps(lab, p.from, p.to))
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? (['encrypted', 'plain'] as const) : (['plain', 'encrypted'] as const)
      for (const name of order) mbps[name].push(await fetchMbps(lab, paths[name].from, paths[name].to))
      console.error(`run ${run + 1}/${RUNS} done`)
    }
    const mtu = JSON.parse(await vsw(lab, 1, 'network', 'inspect', 'secure', 'plain')) as Array<{
      mtu: number
    }>
    return { mbps, mtu: { encrypted: mtu[0]?.mtu, plain: mtu[1]?.mtu } }
  },
  { vm: true },
)

const encrypted = pct(result.mbps.encrypted, 50)
const plain = pct(result.mbps.plain, 50)
table(
  ['network', 'runs (Mbit/s)', 'median Mbit/s'],
  (['encrypted', 'plain'] as const).map((k) => [
    k,
    result.mbps[k].map((x) => x.toFixed(1)).join(' '),
    pct(result.mbps[k], 50).toFixed(1),
  ]),
)
console.log(
  `encrypted/plain = ${(encrypted / plain).toFixed(3)}; MTU encrypted ${result.mtu.encrypted} / plain ${result.mtu.plain} (QEMU TCG)`,
)
console.log(
  JSON.stringify({
    bench: 'encrypted-throughput',
    date: new Date().toISOString(),
    tier: 'vm-tcg',
    runs: RUNS,
    mib: MIB,
    mbps: {
      encrypted: result.mbps.encrypted.map((x) => round(x, 1)),
      plain: result.mbps.plain.map((x) => round(x, 1)),
    },
    encryptedMbps: round(encrypted, 1),
    plainMbps: round(plain, 1),
    ratio: round(encrypted / plain, 3),
    mtu: result.mtu,
  }),
)
