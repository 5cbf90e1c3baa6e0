/**
 * Idle gossip cost on a 3-host lab with one 3-replica service: the bytes each host's underlay
 * interface (`eth0`, `ip -j -s link` counters) carries over `--secs` seconds once everything
 * has settled, and the part of them that is gossip (TCP 7946, counted by an nftables table
 * inside each host, both directions, IP headers included). The rest is the manager API
 * (2377: heartbeats, dispatcher) and the data path.
 *
 * Run as root: node test/bench/gossip-idle.ts [--secs 30] [--settle 15]
 * Prints a table and one JSON line. Not a CI gate.
 *
 * Measured 2026-12-02 on the 2-core VM, per host, each way (rx ≈ tx), on main at 8ae0ab5 (with
 * the dispatcher session) before and after the gossip idle tuning (branch gossip-split):
 *   gossip (TCP 7946)   3.3–3.6 KB/s → 0.47–0.53 KB/s
 *   whole underlay      4.2–4.8 KB/s → 1.0–1.5 KB/s
 */
import type { Lab } from '@swarmnet/lab'
import * as lib from './lib.ts'

const {
  createNetwork,
  createWhoami,
  formCluster,
  load1,
  numArg,
  round,
  sleep,
  swJson,
  table,
  waitFor,
  withLab,
} = lib

const HOSTS = 3
const SECS = numArg('secs', 30)
const SETTLE_S = numArg('settle', 15)
const METER = `table inet gspmeter {
  chain in { type filter hook input priority -20; tcp dport 7946 counter; tcp sport 7946 counter; }
  chain out { type filter hook output priority -20; tcp dport 7946 counter; tcp sport 7946 counter; }
}`

interface Counters {
  rx: number
  tx: number
  gossipIn: number
  gossipOut: number
}

async function counters(lab: Lab, host: number): Promise<Counters> {
  const link = JSON.parse(
    (await lab.exec(host, ['ip', '-j', '-s', 'link', 'show', 'eth0'])).stdout,
  ) as Array<{
    stats64: { rx: { bytes: number }; tx: { bytes: number } }
  }>
  const nft = JSON.parse(
    (await lab.exec(host, ['nft', '-j', 'list', 'table', 'inet', 'gspmeter'])).stdout,
  ) as {
    nftables: Array<{ rule?: { chain: string; expr: Array<{ counter?: { bytes: number } }> } }>
  }
  const sum = (chain: string): number =>
    nft.nftables
      .filter((o) => o.rule?.chain === chain)
      .flatMap((o) => o.rule?.expr ?? [])
      .reduce((s, e) => s + (e.counter?.bytes ?? 0), 0)
  const s = link[0]?.stats64
  return { rx: s?.rx.bytes ?? 0, tx: s?.tx.bytes ?? 0, gossipIn: sum('in'), gossipOut: sum('out') }
}

await withLab('gspi', HOSTS, async (lab) => {
  await formCluster(lab, HOSTS)
  const vni = await createNetwork(lab, 'idle')
  await createWhoami(lab, 'web', 3, 'idle')
  await waitFor('3 tasks running', 60_000, async () => {
    const rows = await swJson<Array<{ state: string }>>(lab, 1, 'service', 'ps', 'web')
    return rows.filter((r) => r.state === 'running').length === 3 ? true : undefined
  })
  await waitFor('entries everywhere', 30_000, async () => {
    for (let h = 1; h <= HOSTS; h++) {
      const n = (await lab.exec(h, ['ip', '-n', `sn-ov-${vni}`, 'neigh', 'show', 'dev', 'vxlan0'])).stdout
      if (n.trim().split('\n').length < HOSTS - 1) return undefined
    }
    return true
  })
  for (let h = 1; h <= HOSTS; h++) await lab.exec(h, ['nft', '-f', '-'], { input: METER })
  await sleep(SETTLE_S * 1_000) // let start-up traffic (joins, first syncs, TLS sessions) pass
  const before = await Promise.all([1, 2, 3].map((h) => counters(lab, h)))
  await sleep(SECS * 1_000) // the measurement window
  const after = await Promise.all([1, 2, 3].map((h) => counters(lab, h)))
  const rows = before.map((b, i) => {
    const a = after[i] as Counters
    const per = (x: number) => round(x / SECS)
    return {
      host: lab.hostname(i + 1),
      underlayRxBps: per(a.rx - b.rx),
      underlayTxBps: per(a.tx - b.tx),
      gossipInBps: per(a.gossipIn - b.gossipIn),
      gossipOutBps: per(a.gossipOut - b.gossipOut),
    }
  })
  table(
    ['host', 'underlay rx B/s', 'underlay tx B/s', 'gossip in B/s', 'gossip out B/s'],
    rows.map((r) => [r.host, r.underlayRxBps, r.underlayTxBps, r.gossipInBps, r.gossipOutBps]),
  )
  console.log(JSON.stringify({ bench: 'gossip-idle', secs: SECS, load1: load1(), rows }))
})
