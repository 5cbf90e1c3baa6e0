/**
 * The multi-host lab (@swarmnet/lab and `swarmnet lab`), on the real kernel, as root.
 * Every lab gets a random name so runs never collide; every test tears its lab down in
 * `finally`/afterAll even on failure, then proves nothing is left: no marked process,
 * no namespace of the lab held by any process, no new link or netns in this namespace,
 * no state directory. Waits are on conditions, never fixed sleeps.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createLab, destroyLab, type Lab, listLabs } from '@swarmnet/lab'
import { silentLogger } from '@swarmnet/logger'
import { afterAll, describe, expect, it } from 'vitest'

const repo = resolve(import.meta.dirname, '../..')
/** The CLI under test; SWARMNET_BIN points at another build (e.g. an installed one). */
const cli = process.env.SWARMNET_BIN ?? join(repo, 'bin/swarmnet')
const made = new Set<string>()

function labName(): string {
  const name = `e${randomBytes(4).toString('hex').slice(0, 7)}`
  made.add(name)
  return name
}

afterAll(async () => {
  for (const name of made) await destroyLab(name)
})

describe.skipIf(process.getuid?.() !== 0)('lab', () => {
  it('runs 3 hosts with their own names, underlay, ext and private dirs, and leaves nothing on down', async () => {
    const name = labName()
    const keep = await mkdtemp('/tmp/swarmnet-lab-keep-')
    await writeFile(join(keep, 'marker'), 'kept\n')
    const before = await rootNetState()
    const lab = createLab({ logger: silentLogger }, { name, hosts: 3, keep: [keep] })
    let namespaces: string[] = []
    try {
      await lab.up()
      namespaces = await labNamespaces(lab)
      const status = await lab.status()
      expect(status.running).toBe(true)
      expect(status.nodes.map((n) => n.node)).toEqual(['switch', 1, 2, 3, 'ext'])

      for (const i of [1, 2, 3]) expect(await out(lab, i, ['hostname'])).toBe(`${name}-${i}`)
      expect(await out(lab, 'ext', ['hostname'])).toBe(`${name}-ext`)
      expect(await out(lab, 1, ['ls', '/sys/class/net'])).toBe('eth0\nlo')
      expect(await out(lab, 2, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain('192.0.2.12/24')

      // underlay: host 1 → host 2
      const ping = await lab.exec(1, ['ping', '-c', '1', '-W', '5', lab.hostAddress(2)])
      expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0)

      // ext is routed (no NAT): it sees host 3's underlay address as the source
      const server = await lab.spawn('ext', [process.execPath, '-e', TCP_ECHO_SOURCE])
      try {
        await firstLine(server.stdout)
        const seen = await lab.exec(3, [
          process.execPath,
          '-e',
          `require('net').connect(8080, '${lab.extAddress}').on('data', (d) => process.stdout.write(d))`,
        ])
        expect(seen.exitCode, seen.stderr).toBe(0)
        expect(seen.stdout.trim()).toBe(lab.hostAddress(3))
      } finally {
        await server.kill('SIGKILL')
        await server.result
      }

      // private /run, /tmp, /var/lib/swarmnet, /var/log per host; the kept path and the repo stay visible
      const touch =
        'echo 1 > /run/labx && echo 1 > /tmp/labx && echo 1 > /var/lib/swarmnet/labx && echo 1 > /var/log/labx'
      expect((await lab.exec(1, ['sh', '-c', touch])).exitCode).toBe(0)
      const look = 'ls /run/labx /tmp/labx /var/lib/swarmnet/labx /var/log/labx 2>/dev/null | wc -l'
      expect(await out(lab, 1, ['sh', '-c', look])).toBe('4')
      expect(await out(lab, 2, ['sh', '-c', look])).toBe('0')
      for (const p of ['/run/labx', '/tmp/labx', '/var/lib/swarmnet/labx', '/var/log/labx'])
        expect(existsSync(p)).toBe(false)
      expect(await out(lab, 2, ['cat', join(keep, 'marker')])).toBe('kept')
      expect(
        await out(lab, 2, ['test', '-x', join(repo, 'bin/swarmnet'), '-a', '-d', join(repo, 'node_modules')]),
      ).toBe('')
    } finally {
      await lab.down()
      await rm(keep, { recursive: true, force: true })
    }
    await expectGone(name, namespaces, before)
  })

  it('is torn down from a fresh process after its runner was SIGKILLed', async () => {
    const name = labName()
    const before = await rootNetState()
    const runner = nodeChild(
      `
      import { createLab } from '@swarmnet/lab'
      import { silentLogger } from '@swarmnet/logger'
      const lab = createLab({ logger: silentLogger }, { name: process.env.LAB, hosts: 3 })
      await lab.up()
      console.log('up')
      setInterval(() => {}, 60_000)
    `,
      name,
    )
    let namespaces: string[] = []
    try {
      expect(await firstLine(runner.stdout)).toBe('up')
      runner.kill('SIGKILL')
      await exited(runner)
      // the crash left the lab running
      const lab = createLab({ logger: silentLogger }, { name, hosts: 3 })
      expect((await lab.status()).running).toBe(true)
      namespaces = await labNamespaces(lab)
      expect((await lab.exec(2, ['ping', '-c', '1', '-W', '5', lab.hostAddress(1)])).exitCode).toBe(0)

      const fresh = nodeChild(
        `
        import { destroyLab } from '@swarmnet/lab'
        console.log(await destroyLab(process.env.LAB))
      `,
        name,
      )
      expect(Number(await firstLine(fresh.stdout))).toBeGreaterThan(0)
      expect(await exited(fresh)).toBe(0)
    } finally {
      runner.kill('SIGKILL')
      await destroyLab(name)
    }
    await expectGone(name, namespaces, before)
  })

  it('CLI: lab down cleans a lab whose `lab up` was SIGKILLed midway; up/status/exec/down round trip', async () => {
    const before = await rootNetState()
    const crashed = labName()
    const up = spawn(cli, ['lab', 'up', '--name', crashed, '3'], { stdio: 'ignore' })
    try {
      await waitFor(async () => (await markedPids(crashed)).length > 0, 'a holder of the lab to appear')
      up.kill('SIGKILL')
      await exited(up)
    } finally {
      up.kill('SIGKILL')
    }
    expect((await markedPids(crashed)).length).toBeGreaterThan(0)
    const down = await run(cli, ['lab', 'down', '--name', crashed])
    expect(down.exitCode, down.stderr).toBe(0)
    await expectGone(crashed, [], before)

    const name = labName()
    try {
      const r = await run(cli, ['lab', 'up', '--name', name, '2'])
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toContain(`${name}-1..${name}-2`)
      const again = await run(cli, ['lab', 'up', '--name', name, '2'])
      expect(again.exitCode).not.toBe(0)
      expect(again.stderr).toContain('already exists')
      const st = await run(cli, ['lab', 'status', '--name', name, '--format', 'json'])
      expect(JSON.parse(st.stdout)).toMatchObject({ name, hosts: 2, running: true })
      const ex = await run(cli, ['lab', 'exec', '--name', name, '2', '--', 'sh', '-c', 'hostname; exit 7'])
      expect(ex.exitCode).toBe(7)
      expect(ex.stdout.trim()).toBe(`${name}-2`)
      const bad = await run(cli, ['lab', 'exec', '--name', name, '5', '--', 'true'])
      expect(bad.exitCode).toBe(2) // a usage error (exit 2, like every bad argument)
      expect(bad.stderr).toMatch(/^Error: invalid host '5'/)
    } finally {
      const d = await run(cli, ['lab', 'down', '--name', name])
      expect(d.exitCode, d.stderr).toBe(0)
    }
    await expectGone(name, [], before)
  })
})

/** Listens on ext:8080 and answers each connection with the peer's address. */
const TCP_ECHO_SOURCE = `require('net').createServer((s) => s.end(s.remoteAddress.replace(/^::ffff:/, '') + '\\n'))
  .listen(8080, '0.0.0.0', () => console.log('listening'))`

async function out(lab: Lab, node: Parameters<Lab['exec']>[0], argv: string[]): Promise<string> {
  const r = await lab.exec(node, argv)
  expect(r.exitCode, `${argv.join(' ')}: ${r.stderr}`).toBe(0)
  return r.stdout.trim()
}

/** Network and mount namespace links of every node, to prove later that no process holds them. */
async function labNamespaces(lab: Lab): Promise<string[]> {
  const nodes = ['switch', 'ext', ...Array.from({ length: lab.hosts }, (_, i) => i + 1)] as const
  const links: string[] = []
  for (const n of nodes) {
    const pid = await lab.pid(n)
    for (const ns of ['net', 'mnt', 'pid', 'uts']) links.push(await readlink(`/proc/${pid}/ns/${ns}`))
  }
  return links
}

async function expectGone(name: string, namespaces: readonly string[], before: RootNetState): Promise<void> {
  expect((await listLabs()).map((l) => l.name)).not.toContain(name)
  expect(await markedPids(name)).toEqual([])
  await waitFor(
    async () => (await heldNamespaces(namespaces)).length === 0,
    'the lab namespaces to be released',
  )
  const after = await rootNetState()
  expect(after.links.filter((l) => !before.links.includes(l))).toEqual([])
  expect(after.netns).toEqual(before.netns)
  expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(name)
  expect(existsSync(`/run/swarmnet-lab/${name}`)).toBe(false)
}

interface RootNetState {
  links: string[]
  netns: string
}

async function rootNetState(): Promise<RootNetState> {
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
  const netns = (await run('ip', ['netns', 'list'])).stdout
  return { links, netns }
}

/** Processes (live, not zombies) whose environment marks them as part of lab `name`. */
async function markedPids(name: string): Promise<number[]> {
  const needle = `\0SWARMNET_LAB=${name}\0`
  const pids: number[] = []
  for (const e of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue
    try {
      const env = `\0${await readFile(`/proc/${e}/environ`, 'latin1')}`
      if (env.includes(needle)) pids.push(Number(e))
    } catch {
      // gone
    }
  }
  return pids
}

/** Which of the given namespace links some process still holds. */
async function heldNamespaces(namespaces: readonly string[]): Promise<string[]> {
  if (namespaces.length === 0) return []
  const held = new Set<string>()
  for (const e of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue
    for (const ns of ['net', 'mnt', 'pid', 'uts']) {
      try {
        const link = await readlink(`/proc/${e}/ns/${ns}`)
        if (namespaces.includes(link)) held.add(link)
      } catch {
        // gone or a zombie
      }
    }
  }
  return [...held]
}

/** A command's outcome; a non-zero exit is a result, not an error. */
function run(
  file: string,
  args: readonly string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code
      done({ exitCode: err === null ? 0 : typeof code === 'number' ? code : 1, stdout, stderr })
    })
  })
}

function nodeChild(source: string, lab: string): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', source], {
    cwd: join(repo, 'test'),
    env: { ...process.env, LAB: lab },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
}

async function firstLine(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (stream === null) throw new Error('no stdout')
  let text = ''
  for await (const chunk of stream) {
    text += String(chunk)
    const nl = text.indexOf('\n')
    if (nl >= 0) return text.slice(0, nl)
  }
  throw new Error(`stream ended before a line: '${text}'`)
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return new Promise((r) => child.once('exit', (code) => r(code)))
}

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let delay = 10
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 200)
  }
}
