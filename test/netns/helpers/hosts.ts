// Simulated hosts for dataplane tests: each host is its own network AND mount namespace
// (private tmpfs on /run, so `ip netns add` inside it is private), held open by a
// `sleep` process; hosts are joined by a bridge in an underlay namespace (192.0.2.0/24)
// that also routes to an "ext" namespace (203.0.113.0/24), the simulated internet.
// Every name carries a per-run id; `close()` removes everything, also after a failure.
import type { Logger } from '@swarmnet/interface'
import { execa, type ResultPromise } from 'execa'

/** A logger that drops everything (the tests assert on kernel state, not on logs). */
export const silentLogger: Logger = {
  component: 'test',
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}

export interface SimHost {
  readonly name: string
  readonly pid: number
  readonly address: string
  /** argv prefix that runs a command inside this host. */
  readonly wrap: readonly string[]
  run(argv: readonly string[], options?: { reject?: boolean }): Promise<{ stdout: string; exitCode: number }>
}

export interface SimLab {
  readonly id: string
  readonly underlay: string
  readonly ext: string
  readonly extAddress: string
  readonly hosts: readonly SimHost[]
  close(): Promise<void>
}

async function sh(
  argv: readonly string[],
  reject = true,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const [file, ...args] = argv
  const r = await execa(file as string, args, { reject: false })
  if (reject && r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function createLab(hostCount: number): Promise<SimLab> {
  const id = Math.random().toString(36).slice(2, 6)
  const underlay = `snt-ul-${id}`
  const ext = `snt-ext-${id}`
  const holders: ResultPromise[] = []
  const hosts: SimHost[] = []
  const lab: SimLab = {
    id,
    underlay,
    ext,
    extAddress: '203.0.113.10',
    hosts,
    async close() {
      for (const h of holders) h.kill('SIGKILL')
      await Promise.allSettled(holders)
      await sh(['ip', 'netns', 'del', underlay], false)
      await sh(['ip', 'netns', 'del', ext], false)
      for (let i = 1; i <= hostCount; i++) await sh(['ip', 'link', 'del', `snt${id}h${i}`], false)
    },
  }
  try {
    await sh(['ip', 'netns', 'add', underlay])
    await sh(['ip', 'netns', 'add', ext])
    const inUl = (...a: string[]) => sh(['ip', '-n', underlay, ...a])
    await inUl('link', 'set', 'lo', 'up')
    await inUl('link', 'add', 'ul', 'type', 'bridge')
    await inUl('addr', 'add', '192.0.2.254/24', 'dev', 'ul')
    await inUl('link', 'set', 'ul', 'up')
    await sh(['ip', 'netns', 'exec', underlay, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    await sh([
      'ip',
      '-n',
      underlay,
      'link',
      'add',
      'toext',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ext,
    ])
    await inUl('addr', 'add', '203.0.113.1/24', 'dev', 'toext')
    await inUl('link', 'set', 'toext', 'up')
    await sh(['ip', '-n', ext, 'link', 'set', 'lo', 'up'])
    await sh(['ip', '-n', ext, 'addr', 'add', '203.0.113.10/24', 'dev', 'eth0'])
    await sh(['ip', '-n', ext, 'link', 'set', 'eth0', 'up'])
    // ext routes back to the underlay only: a gateway-bridge source address (172.18/16)
    // could not be answered, so a reply proves the host masqueraded.
    await sh(['ip', '-n', ext, 'route', 'add', '192.0.2.0/24', 'via', '203.0.113.1'])

    for (let i = 1; i <= hostCount; i++) {
      const holder = execa(
        'unshare',
        [
          '--net',
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          'mount -t tmpfs tmpfs /run && mkdir -p /run/netns && echo ready && exec sleep infinity',
        ],
        { reject: false },
      )
      holders.push(holder)
      const pid = holder.pid
      if (pid === undefined) throw new Error('unshare did not start')
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
        void holder.then((r) => reject(new Error(`holder exited: ${r.stderr}`)))
      })
      const wrap = ['nsenter', '-t', String(pid), '-n', '-m', '--']
      const address = `192.0.2.${i}`
      const leg = `snt${id}h${i}`
      await sh(['ip', 'link', 'add', leg, 'type', 'veth', 'peer', 'name', `${leg}p`])
      await sh(['ip', 'link', 'set', `${leg}p`, 'netns', String(pid)])
      await sh(['ip', 'link', 'set', leg, 'netns', underlay])
      await inUl('link', 'set', leg, 'master', 'ul', 'up')
      const inHost = (...a: string[]) => sh([...wrap, 'ip', ...a])
      await inHost('link', 'set', 'lo', 'up')
      await inHost('link', 'set', `${leg}p`, 'name', 'eth0')
      await inHost('addr', 'add', `${address}/24`, 'dev', 'eth0')
      await inHost('link', 'set', 'eth0', 'up')
      await inHost('route', 'add', 'default', 'via', '192.0.2.254')
      hosts.push({
        name: `h${i}`,
        pid,
        address,
        wrap,
        async run(argv, options) {
          const r = await sh([...wrap, ...argv], options?.reject ?? true)
          return { stdout: r.stdout, exitCode: r.exitCode }
        },
      })
    }
    return lab
  } catch (err) {
    await lab.close()
    throw err
  }
}

/** A record of the processes a dataplane spawns in a host: pass `onSpawn` to it, ask `during(f)` what `f` spawned. */
export function spawnRecorder(host: SimHost): {
  readonly onSpawn: (argv: readonly string[], input: string) => void
  during(f: () => Promise<unknown>): Promise<{ argv: string; input: string }[]>
} {
  const spawned: { argv: string; input: string }[] = []
  return {
    onSpawn: (argv, input) => spawned.push({ argv: argv.slice(host.wrap.length).join(' '), input }),
    async during(f) {
      const from = spawned.length
      await f()
      return spawned.slice(from)
    },
  }
}

/** The MAC the dataplane derives from an IPv4 address (`02:42:` + its octets). */
export const macOf = (ip: string): string =>
  `02:42:${ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(':')}`
