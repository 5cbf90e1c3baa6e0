// Issue 10: verbs that only talk to the agent load commander and the wire client, never the
// agent (libp2p, level, forge, the dataplane), the lab or the task runtime; whoami loads
// neither zod nor the wire client. Every module each verb loads is recorded with a
// module.registerHooks preload; no agent is needed (the socket does not exist).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const main = path.join(root, 'apps/cli/dist/main.js')
const hook = [
  "import { registerHooks } from 'node:module'",
  'const seen = []',
  'registerHooks({ load(url, ctx, next) { seen.push(url); return next(url, ctx) } })',
  "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify([...seen, ...process.moduleLoadList])))",
].join('\n')

function loaded(...argv: string[]): string[] {
  const r = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, main, ...argv],
    { env: { ...process.env, SWARMNET_HOST: 'unix:///nonexistent/swarmnet.sock' }, encoding: 'utf8' },
  )
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '))
  if (line === undefined) throw new Error(`no module list from swarmnet ${argv.join(' ')}: ${r.stderr}`)
  return JSON.parse(line.slice('LOADED '.length)) as string[]
}

const HEAVY =
  /node_modules\/(libp2p|@libp2p|@chainsafe|level|classic-level|node-forge|execa)\/|\/(packages\/(lab|runtime|gossip|store|pki|dataplane|netdb)|apps\/(worker|manager))\/|undici/

describe('what a CLI verb loads', () => {
  it.each([[['version']], [['node', 'ls']], [['service', 'ps', 'web']], [['network', 'ls']], [['info']]])(
    'swarmnet %j: the wire client, nothing heavy',
    (argv) => {
      const mods = loaded(...argv)
      expect(mods.filter((m) => HEAVY.test(m))).toEqual([])
      if (argv[0] !== 'version') expect(mods.some((m) => m.includes('/packages/wire/'))).toBe(true)
    },
  )

  it('swarmnet whoami: neither zod nor the wire client', () => {
    const mods = loaded('whoami', '--port', '70000') // exits at once on the bad port
    expect(mods.filter((m) => HEAVY.test(m) || /\/zod\/|\/packages\/wire\//.test(m))).toEqual([])
    expect(mods.some((m) => m.endsWith('/commands/whoami.js'))).toBe(true)
  })

  it('swarmnet agent --help: the agent is loaded only when it runs', () => {
    expect(loaded('agent', '--help').filter((m) => HEAVY.test(m))).toEqual([])
  })
})
