import { describe, expect, it } from 'vitest'
import { NODE_FILTERS } from '../src/commands/node.js'
import { SERVICE_FILTERS, TASK_FILTERS } from '../src/commands/service-list.js'
import { CliError } from '../src/errors.js'
import { applyFilters, labelMatches, parseFilters } from '../src/filters.js'
import { node, service, task } from './fixtures.js'

const services = [
  service({ id: 'aaa111', name: 'web', mode: 'replicated' }),
  service({ id: 'bbb222', name: 'webapi', mode: 'global' }),
  service({ id: 'ccc333', name: 'db', mode: 'replicated' }),
]

function names(filters: string[]): string[] {
  return applyFilters(
    services,
    parseFilters(filters, SERVICE_FILTERS, { mode: ['replicated', 'global'] }),
    SERVICE_FILTERS,
  ).map((s) => s.name)
}

describe('--filter', () => {
  it('service ls: name is a prefix, id a prefix, mode exact; one key ORs, keys AND', () => {
    expect(names([])).toEqual(['web', 'webapi', 'db'])
    expect(names(['name=web'])).toEqual(['web', 'webapi'])
    expect(names(['name=db', 'name=webapi'])).toEqual(['webapi', 'db'])
    expect(names(['id=bbb'])).toEqual(['webapi'])
    expect(names(['mode=replicated'])).toEqual(['web', 'db'])
    expect(names(['name=web', 'mode=replicated'])).toEqual(['web'])
    expect(names(['label=tier'])).toEqual([]) // no service carries labels
  })

  it('service ps: desired-state, node (hostname or id prefix), name without the history marker', () => {
    const tasks = [
      task({
        id: 't1',
        name: 'web.1',
        node: 'host-1',
        nodeId: 'n1xyz',
        desiredState: 'running',
        state: 'running',
      }),
      task({
        id: 't2',
        name: ' \\_ web.1',
        node: 'host-2',
        nodeId: 'n2xyz',
        desiredState: 'shutdown',
        state: 'failed',
      }),
      task({
        id: 't3',
        name: 'web.2',
        node: 'host-2',
        nodeId: 'n2xyz',
        desiredState: 'running',
        state: 'pending',
      }),
    ]
    const pick = (f: string[]): string[] =>
      applyFilters(tasks, parseFilters(f, TASK_FILTERS), TASK_FILTERS).map((t) => t.id)
    expect(pick(['desired-state=running'])).toEqual(['t1', 't3'])
    expect(pick(['desired-state=shutdown'])).toEqual(['t2'])
    expect(pick(['desired-state=accepted'])).toEqual(['t1'])
    expect(pick(['node=host-2'])).toEqual(['t2', 't3'])
    expect(pick(['node=n1'])).toEqual(['t1'])
    expect(pick(['name=web.1'])).toEqual(['t1', 't2'])
    expect(pick(['id=t3'])).toEqual(['t3'])
  })

  it('node ls: name matches part of the hostname, role exact', () => {
    const nodes = [
      node({ id: 'a'.repeat(25), hostname: 'lab-1', role: 'manager' }),
      node({ id: 'b'.repeat(25), hostname: 'lab-2', role: 'worker' }),
    ]
    const pick = (f: string[]): string[] =>
      applyFilters(nodes, parseFilters(f, NODE_FILTERS), NODE_FILTERS).map((n) => n.hostname)
    expect(pick(['name=2'])).toEqual(['lab-2'])
    expect(pick(['role=manager'])).toEqual(['lab-1'])
    expect(pick(['id=bbb'])).toEqual(['lab-2'])
  })

  it.each([
    [['nope=1'], /invalid filter 'nope': the filters here are id, name, label, mode/],
    [['name'], /invalid filter 'name': expected KEY=VALUE/],
    [['=x'], /expected KEY=VALUE/],
    [['mode=job'], /invalid filter 'mode=job': expected mode=replicated\|global/],
  ])('%j is a usage error (exit 2)', (given, message) => {
    let err: unknown
    try {
      parseFilters(given, SERVICE_FILTERS, { mode: ['replicated', 'global'] })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(CliError)
    expect((err as CliError).exitCode).toBe(2)
    expect((err as CliError).message).toMatch(message)
  })

  it('label=KEY and label=KEY=VALUE', () => {
    expect(labelMatches({ tier: 'web' }, 'tier')).toBe(true)
    expect(labelMatches({ tier: 'web' }, 'tier=web')).toBe(true)
    expect(labelMatches({ tier: 'web' }, 'tier=db')).toBe(false)
    expect(labelMatches({ tier: 'web' }, 'zone')).toBe(false)
    expect(labelMatches(undefined, 'tier')).toBe(false)
  })
})
