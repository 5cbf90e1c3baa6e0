// `swarmnet lab up --mtu N` refuses a bad MTU before anything is created.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/cli/dist/main.js')

describe('lab up --mtu', () => {
  it.each([
    ['abc', /invalid --mtu 'abc': expected a number/],
    ['1400.5', /invalid --mtu '1400.5': expected a number/],
    ['575', /invalid MTU 575: an integer from 576 to 9000/],
    ['9001', /invalid MTU 9001: an integer from 576 to 9000/],
  ])('refuses --mtu %s', (mtu, why) => {
    const r = spawnSync(process.execPath, [main, 'lab', 'up', '--name', 'nolab', '--mtu', mtu, '1'], {
      encoding: 'utf8',
    })
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(why)
  })
})
