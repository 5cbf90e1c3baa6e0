import type { Logger } from '@swarmnet/interface'
import { describe, expect, it } from 'vitest'
import { cgroupParent, cpuUsageUs, oomKills, planCgroups, taskCgroup } from '../src/cgroups.js'
import { supervisorScript } from '../src/shim.js'

/** /proc/cgroups of a dev machine: v1 controllers bound, cpu and cpuacct apart. */
const DEV_PROC = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
memory\t4\t25\t1
hugetlb\t0\t1\t1
`
const DEV_MOUNTS = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
/** A systemd v1 host: cpu and cpuacct co-mounted. */
const COMOUNT_PROC = 'cpu\t4\t1\t1\ncpuacct\t4\t1\t1\nmemory\t7\t1\t1\n'
/** Debian 12 (the VM tier): everything on v2. */
const V2_PROC = 'cpu\t0\t80\t1\ncpuacct\t0\t80\t1\nmemory\t0\t80\t1\n'
const V2_MOUNTS =
  '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n'
const dir = '/run/swarmnet/cgroup'

describe('planning cgroups', () => {
  it('uses the v1 hierarchies the host mounted (v2 there has no controllers)', () => {
    const plan = planCgroups({
      procCgroups: DEV_PROC,
      mountinfo: DEV_MOUNTS,
      mountDir: dir,
      v2Controllers: 'hugetlb\n',
    })
    expect(plan).toEqual({
      mode: 'v1',
      mounts: [],
      roots: {
        memory: '/sys/fs/cgroup/memory',
        cpu: '/sys/fs/cgroup/cpu',
        cpuacct: '/sys/fs/cgroup/cpuacct',
      },
    })
  })

  it('sees no hierarchy a later mount hides (a lab host: fresh sysfs over the inherited /sys)', () => {
    const lab = `${DEV_MOUNTS}90 80 0:99 / /sys rw,relatime - sysfs sysfs rw\n`
    expect(planCgroups({ procCgroups: DEV_PROC, mountinfo: lab, mountDir: dir }).mounts).toHaveLength(3)
    const remounted = `${lab}91 90 0:29 / /run/swarmnet/cgroup/cpu rw - cgroup cgroup rw,cpu\n`
    expect(planCgroups({ procCgroups: DEV_PROC, mountinfo: remounted, mountDir: dir }).roots.cpu).toBe(
      '/run/swarmnet/cgroup/cpu',
    )
  })

  it('mounts the v1 hierarchies in a lab host whose /sys/fs/cgroup is empty, co-mounted ones together', () => {
    expect(planCgroups({ procCgroups: DEV_PROC, mountinfo: '', mountDir: dir }).mounts).toEqual([
      { fstype: 'cgroup', options: 'memory', target: `${dir}/memory` },
      { fstype: 'cgroup', options: 'cpu', target: `${dir}/cpu` },
      { fstype: 'cgroup', options: 'cpuacct', target: `${dir}/cpuacct` },
    ])
    const co = planCgroups({ procCgroups: COMOUNT_PROC, mountinfo: '', mountDir: dir })
    expect(co.mounts).toEqual([
      { fstype: 'cgroup', options: 'memory', target: `${dir}/memory` },
      { fstype: 'cgroup', options: 'cpu,cpuacct', target: `${dir}/cpu,cpuacct` },
    ])
    expect(co.roots).toEqual({
      memory: `${dir}/memory`,
      cpu: `${dir}/cpu,cpuacct`,
      cpuacct: `${dir}/cpu,cpuacct`,
    })
  })

  it('uses cgroup v2 when the controllers are not bound to v1, mounting it if needed', () => {
    expect(planCgroups({ procCgroups: V2_PROC, mountinfo: '', mountDir: dir })).toEqual({
      mode: 'v2',
      mounts: [{ fstype: 'cgroup2', options: 'rw', target: `${dir}/unified` }],
      roots: { unified: `${dir}/unified` },
    })
    expect(
      planCgroups({
        procCgroups: V2_PROC,
        mountinfo: V2_MOUNTS,
        mountDir: dir,
        v2Controllers: 'cpuset cpu io memory pids\n',
      }),
    ).toEqual({ mode: 'v2', mounts: [], roots: { unified: '/sys/fs/cgroup' } })
  })

  it('says none, with the reason, when neither offers memory and cpu', () => {
    const v2bare = planCgroups({
      procCgroups: V2_PROC,
      mountinfo: V2_MOUNTS,
      mountDir: dir,
      v2Controllers: 'pids\n',
    })
    expect(v2bare.mode).toBe('none')
    expect(v2bare.reason).toContain('does not offer the memory and cpu controllers')
    const nothing = planCgroups({
      procCgroups: 'cpu\t3\t1\t1\nmemory\t0\t1\t0\n',
      mountinfo: '',
      mountDir: dir,
    })
    expect(nothing).toMatchObject({ mode: 'none', reason: expect.stringContaining('neither cgroup v2 nor') })
  })
})

describe("a task's cgroup", () => {
  const v1 = planCgroups({ procCgroups: DEV_PROC, mountinfo: DEV_MOUNTS, mountDir: dir })
  const v2 = planCgroups({
    procCgroups: V2_PROC,
    mountinfo: V2_MOUNTS,
    mountDir: dir,
    v2Controllers: 'cpu memory',
  })
  const parent = cgroupParent('pl1a2b3-2')

  it('v2: memory.max, no swap, cpu.max as quota/period, controllers enabled down the tree', () => {
    const cg = taskCgroup(v2, parent, 'web.1.abc', { memoryBytes: 64 * 2 ** 20, nanoCpus: 2e8 })
    const d = '/sys/fs/cgroup/swarmnet-pl1a2b3-2'
    expect(cg.dirs).toEqual([d, `${d}/web.1.abc`])
    expect(cg.writes).toEqual([
      ['/sys/fs/cgroup/cgroup.subtree_control', '+memory +cpu'],
      [`${d}/cgroup.subtree_control`, '+memory +cpu'],
      [`${d}/web.1.abc/memory.max`, '67108864'],
      [`${d}/web.1.abc/cpu.max`, '20000 100000'],
    ])
    expect(cg.optional).toEqual([[`${d}/web.1.abc/memory.swap.max`, '0']])
    expect(cg.procs).toEqual([`${d}/web.1.abc/cgroup.procs`])
    expect(cg.oomFile).toBe(`${d}/web.1.abc/memory.events`)
    expect(cg.usageFile).toBe(`${d}/web.1.abc/cpu.stat`)
  })

  it('v1: one directory per hierarchy, limit_in_bytes and memsw, CFS quota, cpuacct for usage', () => {
    const cg = taskCgroup(v1, parent, 't1', { memoryBytes: 64 * 2 ** 20, nanoCpus: 2e8 })
    const at = (c: string) => `/sys/fs/cgroup/${c}/swarmnet-pl1a2b3-2/t1`
    expect(cg.procs).toEqual(['memory', 'cpu', 'cpuacct'].map((c) => `${at(c)}/cgroup.procs`))
    expect(cg.writes).toEqual([
      [`${at('memory')}/memory.limit_in_bytes`, '67108864'],
      [`${at('cpu')}/cpu.cfs_period_us`, '100000'],
      [`${at('cpu')}/cpu.cfs_quota_us`, '20000'],
    ])
    expect(cg.optional).toEqual([[`${at('memory')}/memory.memsw.limit_in_bytes`, '67108864']])
    expect(cg.oomFile).toBe(`${at('memory')}/memory.oom_control`)
    expect(cg.usageFile).toBe(`${at('cpuacct')}/cpuacct.usage`)
  })

  it('reads the OOM kill count and the CPU usage of both versions', () => {
    expect(oomKills('low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n')).toBe(1)
    expect(oomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 0\n')).toBe(0)
    expect(cpuUsageUs('usage_usec 2500\nuser_usec 2000\n')).toBe(2500)
    expect(cpuUsageUs('2500000\n')).toBe(2500)
  })

  it('the supervisor joins the cgroup before anything of the task runs, or exits 125', () => {
    const tools = {
      sh: '/bin/sh',
      ip: '/sbin/ip',
      unshare: '/bin/unshare',
      nsenter: '/bin/nsenter',
      mount: '/bin/mount',
    }
    const script = supervisorScript(tools, {
      netns: 'ns',
      hostname: 'h',
      argv: ['sleep', '1'],
      exitFile: '/x/t.exit',
      cgroupProcs: ['/cg/memory/p/t/cgroup.procs'],
    }).split('\n')
    expect(script[1]).toBe(
      `printf '%s\\n' "$$" > /cg/memory/p/t/cgroup.procs || { printf '125\\n' > /x/t.exit; exit 125; }`,
    )
    expect(script[2]).toMatch(/^\/sbin\/ip netns exec ns/)
  })
})

describe('a node without cgroups', () => {
  it('refuses a task with limits, with the reason, and lets one without limits through', async () => {
    const { Cgroups } = await import('../src/cgroup-fs.js')
    const quiet: Logger = {
      debug() {},
      info() {},
      warn() {},
      error() {},
      child: () => quiet,
    } as unknown as Logger
    const none = new Cgroups(undefined, quiet, async () => ({ exitCode: 0, stderr: '' }))
    expect(await none.info()).toMatchObject({
      mode: 'none',
      reason: expect.stringContaining('no cgroup set-up'),
    })
    expect(await none.forTask('t1', undefined)).toBeUndefined()
    expect(await none.forTask('t1', {})).toBeUndefined()
    await expect(none.forTask('t1', { memoryBytes: 64 * 2 ** 20 })).rejects.toThrow(
      /resource limits need cgroups, and this node has none/,
    )
  })
})
