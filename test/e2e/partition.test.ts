/**
 * Issue 9 acceptance on the lab: a gossip-only partition of one host for 60 s. nftables inside
 * host 3 drops TCP 7946 (gossip) both ways; the data path (UDP 4789) and the manager API
 * (TCP 2377) stay open, so the manager keeps host 3 ready and tasks keep talking over the
 * overlay. During the cut no entry of host 3 is withdrawn anywhere (every host's neighbour
 * and FDB entries are checked, and tasks answer each other across it); entries written during
 * it (a scale-up puts a task on every host) do not cross it; after the heal every host's
 * kernel holds every other host's entries.
 */
import type { Lab } from '@swarmnet/lab'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createWhoami,
  curlFromTask,
  dumpAgentLogs,
  formCluster,
  newLab,
  overlayTables,
  settledRows,
  swJson,
  swOk,
  type TaskJson,
  userNetworks,
  waitFor,
} from '../lib/cluster.js'

const HOSTS = [1, 2, 3]
const CUT = 3
const PARTITION_MS = 60_000
const CUT_RULES = `table inet gspcut {
  chain in { type filter hook input priority -10; tcp dport 7946 drop; tcp sport 7946 drop; }
  chain out { type filter hook output priority -10; tcp dport 7946 drop; tcp sport 7946 drop; }
}`

describe('gossip-only partition of one host (lab of 3 hosts)', () => {
  let lab: Lab
  let vni = 0
  let before: TaskJson[] = []
  let cut = false
  const hostOf = (t: TaskJson): number => Number(t.node.split('-').at(-1))

  const running = async (want: number): Promise<TaskJson[] | undefined> =>
    settledRows(await swJson<TaskJson[]>(lab, 1, 'service', 'ps', 'web'), want)

  /** The tasks of other hosts whose neighbour + FDB entries host `h`'s overlay namespace lacks. */
  const missing = async (h: number, tasks: readonly TaskJson[]): Promise<string[]> => {
    const { neigh, fdb } = await overlayTables(lab, h, vni)
    return tasks
      .filter((t) => hostOf(t) !== h)
      .filter((t) => {
        const { ip, mac } = t.addresses[0] ?? { ip: '', mac: '' }
        const ne = neigh.find((e) => e.dst === ip)
        const ok = ne?.lladdr === mac && (ne.state ?? []).includes('PERMANENT')
        return !ok || !fdb.some((e) => e.mac === mac && e.dst === lab.hostAddress(hostOf(t)))
      })
      .map((t) => `${t.node}/${t.addresses[0]?.ip}`)
  }

  /** Every task asks every task on another host over the overlay; returns the failures. */
  const unanswered = async (tasks: readonly TaskJson[]): Promise<string[]> => {
    const pairs = tasks.flatMap((from) =>
      tasks.filter((to) => hostOf(to) !== hostOf(from)).map((to) => [from, to]),
    )
    const results = await Promise.all(
      pairs.map(async ([from, to]) => {
        if (from === undefined || to === undefined) return undefined
        const r = await lab.exec(hostOf(from), curlFromTask(from.id, to.addresses[0]?.ip ?? '', 3))
        return r.stdout.includes(to.id) ? undefined : `${from.node} → ${to.node}`
      }),
    )
    return results.filter((x): x is string => x !== undefined)
  }

  beforeAll(async () => {
    lab = newLab('gsp', 3)
    await lab.up()
    await formCluster(lab, 3)
    await swOk(lab, 1, 'network', 'create', 'appnet')
    vni = (await userNetworks<{ vni: number }>(lab, 1))[0]?.vni ?? 0
    await createWhoami(lab, 'web', 3, 'appnet')
    before = await waitFor('3 running tasks', 60_000, () => running(3))
    expect(new Set(before.map(hostOf)).size).toBe(3)
    for (const h of HOSTS)
      await waitFor(`host ${h} has every entry`, 20_000, async () =>
        (await missing(h, before)).length === 0 ? true : undefined,
      )
    await waitFor('tasks answer each other', 20_000, async () =>
      (await unanswered(before)).length === 0 ? true : undefined,
    )
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await dumpAgentLogs(lab, 3)
  })
  afterAll(async () => {
    if (cut) await lab?.exec(CUT, ['nft', 'delete', 'table', 'inet', 'gspcut']).catch(() => undefined)
    await lab?.down()
  })

  it('withdraws nothing for 60 s, and what is written meanwhile does not cross the cut', async () => {
    await lab.exec(CUT, ['nft', '-f', '-'], { input: CUT_RULES })
    cut = true
    const t0 = Date.now()
    let rounds = 0
    let scaled: TaskJson[] | undefined
    while (Date.now() - t0 < PARTITION_MS) {
      // every entry that was there before the cut is still in every kernel, and still carries traffic
      for (const h of HOSTS)
        expect(await missing(h, before), `host ${h} after ${Date.now() - t0} ms`).toEqual([])
      expect(await unanswered(before), `after ${Date.now() - t0} ms`).toEqual([])
      rounds++
      if (scaled === undefined && Date.now() - t0 > 10_000) {
        // a task more on every host while gossip is cut (the manager's API still reaches host 3)
        await swOk(lab, 1, 'service', 'scale', 'web=6')
        scaled = await waitFor('6 running tasks', 40_000, () => running(6))
      }
    }
    expect(rounds).toBeGreaterThan(5)
    const added = (scaled ?? []).filter((t) => !before.some((b) => b.id === t.id))
    expect(new Set(added.map(hostOf))).toEqual(new Set(HOSTS))
    // the cut is real: host 3's new task is unknown to hosts 1 and 2, and theirs to host 3
    const onCut = added.filter((t) => hostOf(t) === CUT)
    for (const h of [1, 2]) expect(await missing(h, onCut)).toHaveLength(onCut.length)
    expect(await missing(CUT, added)).toHaveLength(added.length - onCut.length)
  })

  it('after the heal every host holds every other host’s entries, and all tasks answer', async () => {
    await lab.exec(CUT, ['nft', 'delete', 'table', 'inet', 'gspcut'])
    cut = false
    const t0 = Date.now()
    const all = (await running(6)) as TaskJson[]
    expect(all).toHaveLength(6)
    for (const h of HOSTS)
      await waitFor(`host ${h} converged`, 60_000, async () =>
        (await missing(h, all)).length === 0 ? true : undefined,
      )
    console.log(`partition: every kernel converged ${Date.now() - t0} ms after the heal`)
    await waitFor('all 6 tasks answer each other', 20_000, async () =>
      (await unanswered(all)).length === 0 ? true : undefined,
    )
  })
})
