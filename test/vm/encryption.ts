/**
 * Issue 14 on a formed 2-VM cluster (Debian's cloud kernel: esp4 and gcm are real). An
 * encrypted and a plain network, a whoami task of each on each VM:
 * - HTTP across the encrypted network works; tcpdump on VM 1's underlay sees ESP (IP proto 50)
 *   from VM 2 and no UDP 4789 packet of the encrypted VNI, while the plain VNI stays vxlan;
 * - a cleartext vxlan packet of the encrypted VNI sent at VM 1 (from member VM 2, so admission
 *   lets it in) is dropped: the guard's `cleartext` counter rises, vxlan0 receives nothing;
 * - a ping at 10/s across the encrypted network loses nothing over 3 forced rotations, after
 *   which each VM holds exactly 3 inbound SAs and 1 outbound SA for its peer, the policy
 *   pointing at that outbound SA and the peer's outbound SA among its inbound ones;
 * - a 1 MB body crosses (the network's MTU leaves room for ESP);
 * - `network rm` leaves no xfrm state, policy or guard table.
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
  for (const [name, net] of [
    ['sec', 'secure'],
    ['pln', 'plain'],
  ] as const)
    await vswOk(
      lab,
      1,
      'service',
      'create',
      '--name',
      name,
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
  const running = async (svc: string) =>
    waitFor(`${svc}: a running task on each VM`, 300_000, async () => {
      const ts = (await vswJson<TaskJson[]>(lab, 1, 'service', 'ps', svc)).filter(
        (t) => t.desiredState === 'running',
      )
      return ts.length === 2 &&
        ts.every((t) => t.state === 'running') &&
        new Set(ts.map((t) => t.node)).size === 2
        ? ts
        : undefined
    })
  const sec = await running('sec')
  const pln = await running('pln')
  timings.encryptedRunningMs = since(t0)
  const on = (ts: TaskJson[], h: number) => ts.find((t) => t.node === lab.hostname(h)) as TaskJson
  const ipOf = (t: TaskJson) => t.addresses[0]?.ip ?? ''
  const [sec1, sec2, pln1, pln2] = [on(sec, 1), on(sec, 2), on(pln, 1), on(pln, 2)]

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
  for (const [from, to] of [
    [sec1, sec2],
    [pln1, pln2],
  ] as const) {
    const body = await waitFor(`HTTP ${from.service} across`, 120_000, async () => {
      const r = await lab.exec(1, curlFromTask(from.id, ipOf(to), 10))
      return r.exitCode === 0 && r.stdout.includes(to.id) ? r.stdout : undefined
    })
    expect(body).toContain(to.id)
  }
  await lab.exec(1, ['kill', '-INT', tdPid])
  const td = (await lab.exec(1, ['cat', '/tmp/esp-td.txt'])).stdout
  const esp = td.split('\n').filter((l) => l.includes(`${a2} > ${a1}: ESP`))
  expect(esp.length, td.slice(0, 2000)).toBeGreaterThan(0)
  const vniLines = (vni: number) => td.split('\n').filter((l) => new RegExp(`vni ${vni}\\b`).test(l))
  expect(vniLines(secure.vni)).toEqual([])
  expect(vniLines(plain.vni).length).toBeGreaterThan(0)
  timings.wireCheckedMs = since(t0)

  // a cleartext vxlan packet of the encrypted VNI, from member VM 2: counted, dropped
  const clear0 = await guardCounter(lab, 1, 'cleartext')
  const rx0 = await vxlanRx(lab, 1, secure.vni)
  const vniHex = secure.vni.toString(16).padStart(6, '0').replace(/(..)/g, '\\x$1')
  const mac = (sec1.addresses[0]?.mac ?? '')
    .split(':')
    .map((b) => `\\x${b}`)
    .join('')
  const frame = `\\x08\\x00\\x00\\x00${vniHex}\\x00${mac}\\x02\\x42\\x0a\\xfa\\x00\\x09\\x08\\x06${'\\x00'.repeat(28)}`
  const sent = await lab.exec(2, [
    'bash',
    '-c',
    `for i in 1 2 3; do printf '${frame}' > /dev/udp/${a1}/4789; done`,
  ])
  expect(sent.exitCode, sent.stderr).toBe(0)
  await waitFor('cleartext counted on VM 1', 30_000, async () =>
    (await guardCounter(lab, 1, 'cleartext')) >= clear0 + 3 ? true : undefined,
  )
  expect(await vxlanRx(lab, 1, secure.vni)).toBe(rx0)

  // ping 10/s across the encrypted network through 3 forced rotations
  const ping = await lab.exec(1, [
    'sh',
    '-c',
    `setsid ip netns exec ${sandbox(sec1.id)} ping -i 0.1 -w 900 ${ipOf(sec2)} > /tmp/esp-ping.txt 2>&1 & echo $!`,
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

  // 1 MB across the encrypted network
  const big = await lab.exec(1, [
    'ip',
    'netns',
    'exec',
    sandbox(sec1.id),
    'curl',
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{size_download}',
    '--max-time',
    '60',
    `http://${ipOf(sec2)}:8080/bytes/1048576`,
  ])
  expect(big.stdout.trim(), big.stderr).toBe('1048576')
  timings.bigBodyMs = since(t0)

  // network rm leaves nothing behind
  for (const s of ['sec', 'pln']) expect((await vsw(lab, 1, 'service', 'rm', s)).exitCode).toBe(0)
  await waitFor('networks removable', 300_000, async () =>
    (await vsw(lab, 1, 'network', 'rm', 'secure', 'plain')).exitCode === 0 ? true : undefined,
  )
  for (const h of [1, 2])
    await waitFor(`VM ${h} clean`, 180_000, async () => {
      const x = await xfrmOf(lab, h)
      const nft = await lab.exec(h, ['nft', 'list', 'table', 'ip', 'swarmnet-vxlan'])
      const pol = await lab.exec(h, ['ip', 'xfrm', 'policy'])
      return x.states.length === 0 && pol.stdout.trim() === '' && nft.exitCode !== 0 ? true : undefined
    })
  timings.encryptedCleanMs = since(t0)
  return timings
}
