/**
 * Issue 14 on the namespace lab (this kernel has no ESP): hosts 1 and 2 form a cluster, host 3
 * stays out of it on the same underlay. The data path admits only members: a vxlan packet
 * that host 3 sends to host 1's data-path port is dropped and counted (`nonmember`) and never
 * reaches the overlay, while the same packet from member host 2 does (the control). A service
 * on an encrypted network gets no task and says why (neither host can encrypt, as `info`
 * shows), a plain service beside it runs, and no node carries the encrypted network.
 */
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createWhoami,
  dumpAgentLogs,
  newLab,
  settledRows,
  sw,
  swJson,
  swOk,
  type TaskJson,
  waitFor,
} from '../lib/cluster.js'

/**
 * Sends `count` vxlan packets (UDP to HOST:4789, VNI, an IPv4/UDP frame to MAC) from the lab
 * host it runs in: what a host outside the cluster could inject.
 */
const INJECT = `
import socket, struct, sys
dst, vni, mac, count = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(':', '')), int(sys.argv[4])
vx = struct.pack('!II', 0x08000000, vni << 8)
payload = b'injected'
udp = struct.pack('!HHHH', 40000, 9, 8 + len(payload), 0) + payload
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton('10.250.0.9'), socket.inet_aton('10.250.0.2'))
frame = mac + bytes.fromhex('02420afa0009') + b'\\x08\\x00' + ip + udp
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(count):
    s.sendto(vx + frame, (dst, 4789))
`

interface Counter {
  counter?: { name: string; table: string; packets: number }
}

describe('encrypted networks and member-only vxlan (lab: 2 members, 1 outsider)', () => {
  let lab: Lab
  let vni = 0

  /** Packets of a named counter of host `host`'s vxlan guard table. */
  const guardCounter = async (host: number, name: string): Promise<number> => {
    const r = await lab.exec(host, ['nft', '-j', 'list', 'counter', 'ip', 'swarmnet-vxlan', name])
    if (r.exitCode !== 0) throw new Error(`no counter ${name} on host ${host}: ${r.stderr}`)
    const items = (JSON.parse(r.stdout) as { nftables: Counter[] }).nftables
    return items.find((i) => i.counter?.name === name)?.counter?.packets ?? -1
  }
  /** Packets the overlay's vxlan0 on host 1 received (what got past the guard). */
  const vxlanRx = async (): Promise<number> => {
    const r = await lab.exec(1, ['ip', '-j', '-s', '-n', `sn-ov-${vni}`, 'link', 'show', 'vxlan0'])
    return (
      (JSON.parse(r.stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]?.stats64.rx.packets ?? -1
    )
  }
  const inject = (from: number, mac: string, count: number) =>
    lab.exec(from, ['python3', '-c', INJECT, lab.hostAddress(1), String(vni), mac, String(count)])

  beforeAll(async () => {
    lab = newLab('esp', 3)
    await lab.up()
    await swOk(lab, 1, 'init', '--advertise-addr', lab.hostAddress(1), '--encryption-key-rotation', '2h')
    const token = (await swOk(lab, 1, 'join-token', '-q', 'worker')).trim()
    await swOk(lab, 2, 'join', '--token', token, lab.hostAddress(1))
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 2)
  })
  afterAll(async () => {
    await lab?.down()
  })

  it('drops and counts vxlan from a host that is not a member; a member gets through', async () => {
    await swOk(lab, 1, 'network', 'create', 'plain')
    vni =
      (JSON.parse(await swOk(lab, 1, 'network', 'inspect', 'plain')) as Array<{ vni: number }>)[0]?.vni ?? 0
    await createWhoami(lab, 'web', 2, 'plain')
    const rows = await waitFor('2 plain tasks running', 60_000, async () =>
      settledRows(await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'web'), 2),
    )
    const onHost1 = rows.find((t) => t.node === lab.hostname(1))
    const mac = onHost1?.addresses[0]?.mac ?? ''
    expect(mac).toMatch(/^02:42:/)
    // the guard admits both members once host 1's agent knows the membership
    await waitFor('members admitted on host 1', 30_000, async () => {
      const r = await lab.exec(1, ['nft', 'list', 'set', 'ip', 'swarmnet-vxlan', 'members'])
      return r.stdout.includes(lab.hostAddress(2)) ? true : undefined
    })

    const dropped0 = await guardCounter(1, 'nonmember')
    const rx0 = await vxlanRx()
    const sent = await inject(3, mac, 5)
    expect(sent.exitCode, sent.stderr).toBe(0)
    const dropped = await waitFor('the outsider counted', 10_000, async () => {
      const n = await guardCounter(1, 'nonmember')
      return n >= dropped0 + 5 ? n : undefined
    })
    expect(dropped - dropped0).toBe(5)
    // nothing of it reached the overlay (idle tasks send nothing across)
    expect(await vxlanRx()).toBe(rx0)

    // the control: the same packets from member host 2 reach vxlan0, and are not counted
    const ok = await inject(2, mac, 5)
    expect(ok.exitCode, ok.stderr).toBe(0)
    await waitFor('a member reaches the overlay', 10_000, async () =>
      (await vxlanRx()) >= rx0 + 5 ? true : undefined,
    )
    expect(await guardCounter(1, 'nonmember')).toBe(dropped)
  })

  it('keeps a service on an encrypted network pending with the reason; a plain service runs beside it', async () => {
    const info = await swJson<{ capabilities: { esp: boolean } }>(lab, 1, 'info')
    expect(info.capabilities.esp).toBe(false)
    await swOk(lab, 1, 'network', 'create', '-o', 'encrypted', 'secure')
    const inspect = async () =>
      JSON.parse(await swOk(lab, 1, 'network', 'inspect', 'secure')) as Array<{
        encrypted: boolean
        mtu: number
        keyGeneration?: number
      }>
    const [secure] = await inspect()
    expect(secure).toMatchObject({ encrypted: true, mtu: 1424, keyGeneration: 0 })
    await createWhoami(lab, 'vault', 1, 'secure')
    const why = `encrypted network secure needs ESP; nodes ${[lab.hostname(1), lab.hostname(2)].sort().join(', ')} cannot`
    const row = await waitFor('the reason on the pending task', 30_000, async () => {
      const [t] = await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'vault')
      return t?.state === 'pending' && t.error === why ? t : undefined
    })
    expect(row.node).toBe('')
    // the plain service beside it still runs, on both hosts
    const web = settledRows(await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'web'), 2)
    expect(web?.map((t) => t.node).sort()).toEqual([lab.hostname(1), lab.hostname(2)].sort())
    // no node carries the encrypted network: not even a bare endpoint may attach
    const attach = await sw(lab, 2, 'endpoint', 'attach', 'secure')
    expect(attach.exitCode).not.toBe(0)
    expect(attach.stderr).toContain(`encrypted network secure needs ESP; node ${lab.hostname(2)} cannot`)

    // a forced rotation moves the generation; the task still waits for a capable node
    const rotated = await swOk(lab, 1, 'network', 'rotate-key')
    expect(rotated).toMatch(/generation 1/)
    const [after] = await inspect()
    expect(after?.keyGeneration).toBe(1)
    const [still] = await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'vault')
    expect(still?.state).toBe('pending')
    // the worker cannot rotate
    const denied = await sw(lab, 2, 'network', 'rotate-key')
    expect(denied.exitCode).not.toBe(0)
    expect(denied.stderr).toMatch(/not a swarm manager/)
  })

  it('leaves no guard table, xfrm state or policy behind once the networks are gone', async () => {
    await swOk(lab, 1, 'service', 'rm', 'vault')
    await swOk(lab, 1, 'service', 'rm', 'web')
    // each network goes once its tasks' addresses are released (a retry of one already gone is done)
    for (const net of ['plain', 'secure'])
      await waitFor(`network ${net} removed`, 60_000, async () => {
        const r = await sw(lab, 1, 'network', 'rm', net)
        return r.exitCode === 0 || /not found/.test(r.stderr) ? true : undefined
      })
    // the guard table stays while the node carries an overlay (every node is on the ingress
    // network), with no encrypted VNI left in it
    for (const h of [1, 2]) {
      await waitFor(`host ${h} clean`, 30_000, async () => {
        const nft = await lab.exec(h, ['nft', 'list', 'set', 'ip', 'swarmnet-vxlan', 'encrypted-vnis'])
        const xs = await lab.exec(h, ['ip', 'xfrm', 'state'])
        const xp = await lab.exec(h, ['ip', 'xfrm', 'policy'])
        const noVnis = nft.exitCode !== 0 || !/elements/.test(nft.stdout)
        return noVnis && xs.stdout.trim() === '' && xp.stdout.trim() === '' ? true : undefined
      })
    }
  })
})
