// Issue 17: every usage error exits 2 — commander's own (unknown option, missing argument,
// too many arguments) and the CLI's checks of values — and says what is wrong in plain words,
// before any agent is asked (none runs here; the socket does not exist).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { USAGE_ERRORS, VALIDATOR_WORDING } from '../lib/usage.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const main = path.join(root, 'apps/cli/dist/main.js')

function run(...argv: readonly string[]) {
  return spawnSync(process.execPath, [main, ...argv], {
    env: { ...process.env, SWARMNET_HOST: 'unix:///nonexistent/swarmnet.sock' },
    encoding: 'utf8',
  })
}

describe('usage errors exit 2 with a plain message', () => {
  it.each(USAGE_ERRORS)('%s', (_verb, argv) => {
    const r = run(...argv)
    expect(r.status, `${argv.join(' ')}: ${r.stderr}`).toBe(2)
    expect(r.stderr.trim()).not.toBe('')
    expect(r.stderr).not.toMatch(VALIDATOR_WORDING)
  })

  it('--version and -v print the version and exit 0', () => {
    for (const flag of ['--version', '-v']) {
      const r = run(flag)
      expect(r.status).toBe(0)
      expect(r.stdout).toMatch(/^swarmnet version \d+\.\d+\.\d+\n$/)
    }
  })

  it('a verb that needs the agent exits 1 when none answers', () => {
    const r = run('service', 'ls')
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/cannot connect to the swarmnet agent/)
  })
})
