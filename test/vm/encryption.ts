/**
 * Issue 14 on a formed 2-VM cluster (Debian's cloud kernel: esp4 and gcm are real). An
 * encrypted and a plain network, one whoami service on both with a task on each VM (one task
 * start per VM: under TCG a start costs tens of seconds):
 * - HTTP across the encrypted network works; tcpdump on VM 1's underlay sees ESP (IP proto 50)
 *   from VM 2 and no UDP 4789 packet of the encrypted VNI, while the plain VNI stays vxlan;
 * - a cleartext vxlan packet of the encrypted VNI sent at VM 1 from VM 2's address (spoofed on
 *   the underlay switch, so member admission lets it in; VM 2's own guard would have put it in
 *   ESP) is dropped: the guard's `cleartext` counter rises, vxlan0 receives nothing;
 * - a ping at 10/s across the encrypted network loses nothing over 3 forced rotations, after
 *   which each VM holds exactly 3 inbound SAs and 1 outbound SA for its peer, the policy
 *   pointing at that outbound SA and the peer's outbound SA among its inbound ones;
 * - a 1 MB body crosses (the network's MTU leaves room for ESP), and 8 MiB bodies over each
 *   network give the encrypted/plain throughput of this run (printed, never asserted);
 * - `network rm` leaves no xfrm state or policy, and no encrypted VNI in the guard table.
 */
import { sandboxNamespace } from '@swarmnet/dataplane'
import type { Lab } from '@swarmnet/lab'
import { expect } from 'vitest'
import { curlFromTask, type TaskJson, waitFor } from '../lib/cluster.js'
import { since, VM_BIN, vsw, vswJson, vswOk } from './lib.js'

interface NetJson {
  vni: number
  mtu: number
  encrypted: boolean
  keyGeneration?: number
}

const sandbox = sandboxNamespace

/**
 * Sends COUNT vxlan packets (VNI, an ARP-typed frame to MAC) to DST:4789 with source SRC, from
 * a raw socket: run on the lab's underlay switch, it puts a member's address on a cleartext
 * packet that no member's own guard would let out unencrypted.
 */
const SPOOF = `
import socket, struct, sys
src, dst, vni, mac, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4]), int(sys.argv[5])
frame = mac + bytes.fromhex('02420afa0009') + b'\\x08\\x06' + bytes(28)
payload = struct.pack('!II', 0x08000000, vni << 8) + frame
udp = struct.pack('!HHHH', 40000, 4789, 8 + len(payload), 0) + payload
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for _ in range(count):
    s.sendto(ip + udp, (dst, 0))
`

/** Our SAs and the outbound policy SPI on VM `host`, read from `ip xfrm`. */
async function xfrmOf(lab: Lab, host: number) {
  const st = await lab.exec(host, ['ip', 'xfrm', 'state', 'list', 'reqid', '13681891'])
  const pol = await lab.exec(host, ['ip', 'xfrm', 'policy', 'list', 'dir', 'out'])
  const states = [...st.stdout.matchAll(/^src (\S+) dst (\S+)\n\s+proto esp spi (0x[0-9a-f]+)/gm)].map(
    (m) => ({
      src: m[1] as string,
      dst: m[2] as string,
      spi: m[3] as string,
    }),
  )
  const policySpis = [...pol.stdout.matchAll(/mark 0xd0c4e3[\s\S]*?spi (0x[0-9a-f]+)/g)].map(
    (m) => m[1] as string,
  )
  return { states, policySpis }
}

/** The packets of a named counter in VM `host`'s guard table. */
async function guardCounter(lab: Lab, host: number, name: string): Promise<number> {
  const r = await lab.exec(host, ['nft', 'list', 'counter', 'ip', 'swarmnet-vxlan', name])
  return Number(/packets (\d+)/.exec(r.stdout)?.[1] ?? -1)
}

async function vxlanRx(lab: Lab, host: number, vni: number): Promise<number> {
  const r = await lab.exec(host, ['ip', '-j', '-s', '-n', `sn-ov-${vni}`, 'link', 'show', 'vxlan0'])
  return (
    (JSON.parse(r.stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]?.stats64.rx.packets ?? -1
  )
}

export async function encryptedAcrossVms(lab: Lab): Promise<Record<string, number>> {
  const t0 = Date.now()
  const timings: Record<string, number> = {}
  const [a1, a2] = [lab.hostAddress(1), lab.hostAddress(2)]
  await vswOk(lab, 1, 'network', 'create', '-o', 'encrypted', 'secure')
  await vswOk(lab, 1, 'network', 'create', 'plain')
  const inspect = async (name: string) =>
    (JSON.parse(await vswOk(lab, 1, 'network', 'inspect', name)) as NetJson[])[0] as NetJson
  const secure = await inspect('secure')
  const plain = await inspect('plain')
  expect(secure).toMatchObject({ encrypted: true, keyGeneration: 0 })
  expect(secure.mtu).toBe(Math.floor((plain.mtu - 26) / 4) * 4)
  await vswOk(
    lab,
    1,
    'service',
    'create',
    '--name',
    'sec',
    '--replicas',
    '2',
    '--network',
    'secure',
    '--network',
    'plain',
    '--',
    VM_BIN,
    'whoami',
    '--port',
    '8080',
  )
  const sec = await waitFor('a running task on each VM', 420_000, async () => {
    const ts = (await vswJson<TaskJson[]>(lab, 1, 'service', 'ps', 'sec')).filter(
      (t) => t.desiredState === 'running',
    )
    return ts.length === 2 &&
      ts.every((t) => t.state === 'running' && t.addresses.length === 2) &&
      new Set(ts.map((t) => t.node)).size === 2
      ? ts
      : undefined
  })
  timings.encryptedRunningMs = since(t0)
  const on = (h: number) => sec.find((t) => t.node === lab.hostname(h)) as TaskJson
  const ipOn = (t: TaskJson, net: string) => t.addresses.find((a) => a.network === net)?.ip ?? ''
  const [sec1, sec2] = [on(1), on(2)]

  // HTTP across both networks while VM 1's underlay is captured
  const capture = await lab.exec(1, [
    'sh',
    '-c',
    `setsid tcpdump -i eth0 -nn -l 'host ${a2} and (ip proto 50 or udp port 4789)' > /tmp/esp-td.txt 2>/dev/null & echo $!`,
  ])
  const tdPid = capture.stdout.trim()
  await waitFor('tcpdump listening', 30_000, async () =>
    (await lab.exec(1, ['pgrep', '-x', 'tcpdump'])).exitCode === 0 ? true : undefined,
  )
  for (const net of ['secure', 'plain']) {
    const body = await waitFor(`HTTP across ${net}`, 120_000, async () => {
      const r = await lab.exec(1, curlFromTask(sec1.id, ipOn(sec2, net), 10))
      return r.exitCode === 0 && r.stdout.includes(sec2.id) ? r.stdout : undefined
    })
    expect(body).toContain(sec2.id)
  }
  await lab.exec(1, ['kill', '-INT', tdPid])
  const td = (await lab.exec(1, ['cat', '/tmp/esp-td.txt'])).stdout
  const esp = td.split('\n').filter((l) => l.includes(`${a2} > ${a1}: ESP`))
  expect(esp.length, td.slice(0, 2000)).toBeGreaterThan(0)
  const vniLines = (vni: number) => td.split('\n').filter((l) => new RegExp(`vni ${vni}\\b`).test(l))
  expect(vniLines(secure.vni)).toEqual([])
  expect(vniLines(plain.vni).length).toBeGreaterThan(0)
  timings.wireCheckedMs = since(t0)

  // a cleartext vxlan packet of the encrypted VNI from VM 2's address, sent on the underlay
  const clear0 = await guardCounter(lab, 1, 'cleartext')
  const rx0 = await vxlanRx(lab, 1, secure.vni)
  const mac = (sec1.addresses.find((a) => a.network === 'secure')?.mac ?? '').replaceAll(':', '')
  const sent = await lab.exec('switch', ['python3', '-c', SPOOF, a2, a1, String(secure.vni), mac, '3'])
  expect(sent.exitCode, sent.stderr).toBe(0)
  await waitFor('cleartext counted on VM 1', 30_000, async () =>
    (await guardCounter(lab, 1, 'cleartext')) >= clear0 + 3 ? true : undefined,
  )
  expect(await vxlanRx(lab, 1, secure.vni)).toBe(rx0)

  // ping 10/s across the encrypted network through 3 forced rotations
  const ping = await lab.exec(1, [
    'sh',
    '-c',
    `setsid ip netns exec ${sandbox(sec1.id)} ping -i 0.1 -w 900 ${ipOn(sec2, 'secure')} > /tmp/esp-ping.txt 2>&1 & echo $!`,
  ])
  const pingPid = ping.stdout.trim()
  await waitFor('ping answered', 60_000, async () =>
    / bytes from /.test((await lab.exec(1, ['cat', '/tmp/esp-ping.txt'])).stdout) ? true : undefined,
  )
  for (let gen = 1; gen <= 3; gen++) {
    const before = await Promise.all([xfrmOf(lab, 1), xfrmOf(lab, 2)])
    const out = await vswOk(lab, 1, 'network', 'rotate-key')
    expect(out).toContain(`generation ${gen}`)
    await waitFor(`rotation ${gen} on both VMs`, 180_000, async () => {
      const now = await Promise.all([xfrmOf(lab, 1), xfrmOf(lab, 2)])
      const moved = now.every((x, i) => x.policySpis[0] !== before[i]?.policySpis[0] && x.states.length === 4)
      return moved ? true : undefined
    })
  }
  await lab.exec(1, ['kill', '-INT', pingPid])
  const tally = await waitFor('ping summary', 30_000, async () => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(
      (await lab.exec(1, ['cat', '/tmp/esp-ping.txt'])).stdout,
    )
    return m ? { sent: Number(m[1]), received: Number(m[2]) } : undefined
  })
  timings.rotationsMs = since(t0)
  timings.pingSent = tally.sent
  expect(tally.sent).toBeGreaterThan(30)
  expect(tally.received).toBe(tally.sent)
  expect((await inspect('secure')).keyGeneration).toBe(3)

  // exactly 3 inbound + 1 outbound SA per peer, consistent across the pair
  const [x1, x2] = await Promise.all([xfrmOf(lab, 1), xfrmOf(lab, 2)])
  for (const [x, me, peer, other] of [
    [x1, a1, a2, x2],
    [x2, a2, a1, x1],
  ] as const) {
    const inbound = x.states.filter((s) => s.src === peer && s.dst === me)
    const outbound = x.states.filter((s) => s.src === me && s.dst === peer)
    expect(inbound).toHaveLength(3)
    expect(outbound).toHaveLength(1)
    expect(x.policySpis).toEqual([outbound[0]?.spi])
    // what this VM sends with, the peer can read
    expect(other.states.filter((s) => s.src === me).map((s) => s.spi)).toContain(outbound[0]?.spi)
  }

  // 1 MB across the encrypted network, then 8 MiB over each network for the throughput
  const fetch = async (net: string, bytes: number) => {
    const r = await lab.exec(1, [
      ...['ip', 'netns', 'exec', sandbox(sec1.id), 'curl', '-s', '-o', '/dev/null'],
      ...['-w', '%{size_download} %{time_total}', '--max-time', '120'],
      `http://${ipOn(sec2, net)}:8080/bytes/${bytes}`,
    ])
    const [size, secs] = r.stdout.trim().split(' ').map(Number)
    expect(size, `${net}: ${r.stdout} ${r.stderr}`).toBe(bytes)
    return (bytes * 8) / (secs ?? 1) / 1e6
  }
  await fetch('secure', 1_048_576)
  timings.bigBodyMs = since(t0)
  const mbps: Record<string, number[]> = { secure: [], plain: [] }
  for (const net of ['plain', 'secure', 'secure', 'plain', 'plain', 'secure'])
    mbps[net]?.push(await fetch(net, 8 * 1_048_576))
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] ?? 0
  console.log(
    `encrypted-throughput ${JSON.stringify({ date: new Date().toISOString(), tier: 'vm-tcg', mib: 8, mbps, encryptedMbps: median(mbps.secure ?? []), plainMbps: median(mbps.plain ?? []), ratio: median(mbps.secure ?? []) / median(mbps.plain ?? []) })}`,
  )

  // network rm leaves nothing behind
  expect((await vsw(lab, 1, 'service', 'rm', 'sec')).exitCode).toBe(0)
  await waitFor('networks removable', 300_000, async () =>
    (await vsw(lab, 1, 'network', 'rm', 'secure', 'plain')).exitCode === 0 ? true : undefined,
  )
  for (const h of [1, 2])
    await waitFor(`VM ${h} clean`, 180_000, async () => {
      const x = await xfrmOf(lab, h)
      // the guard table stays while the VM carries an overlay (every node is on the ingress
      // network), with no encrypted VNI left in it
      const nft = await lab.exec(h, ['nft', 'list', 'set', 'ip', 'swarmnet-vxlan', 'encrypted-vnis'])
      const pol = await lab.exec(h, ['ip', 'xfrm', 'policy'])
      const noVnis = nft.exitCode !== 0 || !/elements/.test(nft.stdout)
      return x.states.length === 0 && pol.stdout.trim() === '' && noVnis ? true : undefined
    })
  timings.encryptedCleanMs = since(t0)
  return timings
}
