import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_PATH,
  defaultHostname,
  execArgv,
  INIT_SCRIPT,
  shellQuote,
  supervisorArgv,
  supervisorScript,
  type Tools,
  taskEnv,
  taskProblems,
} from '../src/shim.js'

const tools: Tools = {
  sh: '/bin/sh',
  ip: '/usr/sbin/ip',
  unshare: '/usr/bin/unshare',
  nsenter: '/usr/bin/nsenter',
  mount: '/usr/bin/mount',
}

/** What sh makes of `printf '%s\0' <quoted words>`: the words it would pass to a program. */
function throughSh(words: string[]): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${words.map(shellQuote).join(' ')}`])
  return out.toString('utf8').split('\0').slice(0, -1)
}

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('abc-1.2/x:y=z')).toBe('abc-1.2/x:y=z')
    expect(shellQuote('')).toBe("''")
    expect(shellQuote('a b')).toBe("'a b'")
    expect(shellQuote("it's")).toBe("'it'\\''s'")
  })

  it('round-trips hostile words through a real sh', () => {
    const words = [
      '',
      ' ',
      "it's",
      '"$HOME"',
      '$(touch /tmp/pwned)',
      '`id`',
      'a\nb',
      '\\',
      '*',
      '-n',
      "''",
      ';|&<>',
    ]
    expect(throughSh(words)).toEqual(words)
  })

  it('refuses NUL', () => {
    expect(() => shellQuote('a\0b')).toThrow(TypeError)
  })
})

describe('supervisor', () => {
  const spec = {
    netns: 'sn-ep-abc',
    hostname: 'web1',
    argv: ['sh', '-c', "echo 'x y'; exit 3"],
    exitFile: '/var/lib/swarm net/t1.exit',
  }

  it('joins the netns, then new pid/mount/uts namespaces, and records $? to the exit file', () => {
    const script = supervisorScript(tools, spec)
    const lines = script.split('\n')
    expect(lines[0]).toBe('trap : TERM INT HUP')
    expect(script.slice(script.indexOf('\n') + 1)).toMatch(
      /^\/usr\/sbin\/ip netns exec sn-ep-abc \/usr\/bin\/unshare --fork --kill-child --pid --mount-proc --uts \/bin\/sh -c '/,
    )
    expect(lines.at(-3)).toBe('s=$?')
    expect(lines.at(-2)).toBe(`printf '%s\\n' "$s" > '/var/lib/swarm net/t1.exit'`)
    expect(lines.at(-1)).toBe('exit "$s"')
  })

  it('passes hostname and argv as positional words, unchanged', () => {
    const script = supervisorScript(tools, spec)
    // print the chain's words instead of running it: what sh would pass to ip
    const chain = script.slice(script.indexOf('\n') + 1, script.lastIndexOf('\ns=$?'))
    const words = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${chain}`])
      .toString('utf8')
      .split('\0')
      .slice(0, -1)
    expect(words.slice(0, 13)).toEqual([
      '/usr/sbin/ip',
      'netns',
      'exec',
      'sn-ep-abc',
      '/usr/bin/unshare',
      '--fork',
      '--kill-child',
      '--pid',
      '--mount-proc',
      '--uts',
      '/bin/sh',
      '-c',
      INIT_SCRIPT,
    ])
    expect(words.slice(13)).toEqual([
      'swarmnet-init',
      'web1',
      '',
      '/usr/bin/mount',
      'sh',
      '-c',
      "echo 'x y'; exit 3",
    ])
  })

  it('is an sh -c with a $0 name', () => {
    const argv = supervisorArgv(tools, spec)
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c'])
    expect(argv.at(-1)).toBe('swarmnet-supervisor')
  })

  const initBody = INIT_SCRIPT.split('\n')
    .filter((l) => !l.includes('/proc/sys/kernel/hostname'))
    .join('\n')

  it('init exits with the command status (run without namespaces)', () => {
    const r = spawnSync('/bin/sh', ['-c', initBody, 'init', 'host', '', '', 'sh', '-c', 'exit 3'])
    expect(r.status).toBe(3)
  })

  /**
   * Runs the init (minus the hostname) over argv, sends it SIGTERM once the process tree
   * under it is `depth` deep (the command is set up), and resolves with its exit code.
   */
  async function terminateInit(argv: string[], depth: number): Promise<number | null> {
    const child = spawn('/bin/sh', ['-c', initBody, 'init', 'host', '', '', ...argv], { stdio: 'ignore' })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const deepest = (): number => {
      let pids = [String(child.pid)]
      let level = 0
      while (pids.length > 0) {
        pids = pids.flatMap((p) =>
          spawnSync('pgrep', ['-P', p]).stdout.toString().split('\n').filter(Boolean),
        )
        if (pids.length > 0) level++
      }
      return level
    }
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline && deepest() < depth) await new Promise((r) => setTimeout(r, 5))
    child.kill('SIGTERM')
    return exited
  }

  it('init forwards SIGTERM to the command and reports 128+15', async () => {
    expect(await terminateInit(['sleep', '30'], 1)).toBe(143)
  })

  it("init reports a command's own status after SIGTERM, every time (trap/reap race)", async () => {
    // the command exits 0 on TERM; a wait interrupted after reaping it must not turn that into 143
    const codes: (number | null)[] = []
    for (let i = 0; i < 12; i++)
      codes.push(await terminateInit(['sh', '-c', "trap 'kill $!; exit 0' TERM; sleep 30 & wait"], 2))
    expect(codes).toEqual(codes.map(() => 0))
  }, 60_000)

  it('init leaves exit status 127 of a missing program alone', () => {
    expect(spawnSync('/bin/sh', ['-c', initBody, 'init', 'host', '', '', '/nonexistent']).status).toBe(127)
  })
})

describe('exec argv', () => {
  it('enters every namespace of the init, its root and cwd', () => {
    expect(execArgv(tools, 4242, ['ip', 'addr'])).toEqual([
      '/usr/bin/nsenter',
      '--target',
      '4242',
      '--all',
      '--root',
      '--wd',
      '--',
      'ip',
      'addr',
    ])
  })
})

describe('task env and validation', () => {
  it('adds PATH and HOSTNAME defaults, lets the caller override them, and always sets the task id', () => {
    expect(taskEnv('t1', 'h', { A: '1' })).toEqual({
      PATH: DEFAULT_PATH,
      HOSTNAME: 'h',
      A: '1',
      SWARMNET_TASK_ID: 't1',
    })
    expect(taskEnv('t1', 'h', { PATH: '/x', SWARMNET_TASK_ID: 'spoof' })).toMatchObject({
      PATH: '/x',
      SWARMNET_TASK_ID: 't1',
    })
  })

  it('default hostname is the first 12 characters of the id, as a valid host name', () => {
    expect(defaultHostname('abcdef1234567890')).toBe('abcdef123456')
    expect(defaultHostname('web.1.x7f3')).toBe('web-1-x7f3')
    expect(defaultHostname('_')).toBe('task')
  })

  it('reports every problem of a spec', () => {
    const ok = { id: 't1', netns: 'sn-ep-1', argv: ['sleep', '1'], env: { A: 'b' } }
    expect(taskProblems(ok)).toEqual([])
    expect(taskProblems({ ...ok, id: '../etc/passwd' })).toHaveLength(1)
    expect(taskProblems({ ...ok, netns: 'a/b' })).toHaveLength(1)
    expect(taskProblems({ ...ok, argv: [] })).toHaveLength(1)
    expect(taskProblems({ ...ok, env: { 'A=B': 'c' } })).toHaveLength(1)
    expect(taskProblems({ ...ok, hostname: 'bad_host' })).toHaveLength(1)
    expect(taskProblems({ ...ok, hostname: 'x'.repeat(65) })).toHaveLength(1)
  })
})
