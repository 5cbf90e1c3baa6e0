import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest'
import { SERVICE_COLUMNS, TASK_COLUMNS } from '../src/commands/service-list.js'
import { CliError } from '../src/errors.js'
import { alignTabs, inspectFormat, listFormat } from '../src/output.js'
import { service, task } from './fixtures.js'

let log: MockInstance
const printed = (): string => log.mock.calls.map((c) => String(c[0])).join('\n')
beforeEach(() => {
  log = vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterEach(() => log.mockRestore())

const list = [
  service({ id: 'abcdefghijklmnopqrstuvwxy', name: 'web', replicas: '2/3' }),
  service({ id: 'zyxwvutsrqponmlkjihgfedcb', name: 'db', mode: 'global', replicas: '1/1' }),
]

function usageError(fn: () => unknown): CliError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CliError)
    expect((err as CliError).exitCode).toBe(2)
    return err as CliError
  }
  throw new Error('no error')
}

describe('--format of a list', () => {
  it('default and `table`: docker headers, ids cut to 12 unless --no-trunc', () => {
    listFormat(undefined, SERVICE_COLUMNS).print(list)
    expect(printed().split('\n')[0]).toMatch(/^ID\s+NAME\s+MODE\s+REPLICAS\s+COMMAND\s+PORTS$/)
    expect(printed()).toContain('abcdefghijkl   web')
    log.mockClear()
    listFormat('table', SERVICE_COLUMNS).print(list, { noTrunc: true })
    expect(printed()).toContain('abcdefghijklmnopqrstuvwxy   web')
  })

  it('a template per row, with the columns as docker names them', () => {
    listFormat('{{.Name}}', SERVICE_COLUMNS).print(list)
    expect(printed()).toBe('web\ndb')
    log.mockClear()
    listFormat('{{.ID}}: {{.Mode}} {{.Replicas}}', SERVICE_COLUMNS).print(list)
    expect(printed()).toBe('abcdefghijkl: replicated 2/3\nzyxwvutsrqpo: global 1/1')
    log.mockClear()
    listFormat('{{json .}}', SERVICE_COLUMNS).print(list.slice(0, 1))
    expect(JSON.parse(printed())).toEqual({
      ID: 'abcdefghijkl',
      Name: 'web',
      Mode: 'replicated',
      Replicas: '2/3',
      Command: 'sleep 1000',
      Ports: '',
    })
  })

  it('`table TEMPLATE`: the chosen columns, aligned, with their headers', () => {
    listFormat('table {{.Name}}\\t{{.Replicas}}', SERVICE_COLUMNS).print(list)
    expect(printed()).toBe('NAME   REPLICAS\nweb    2/3\ndb     1/1')
    log.mockClear()
    listFormat('table {{.Name}}\\t{{.DesiredState}}\\t{{.Error}}', TASK_COLUMNS).print([
      task({
        name: 'web.1',
        desiredState: 'shutdown',
        error: 'task: non-zero exit (1) after a very long time',
      }),
    ])
    expect(printed()).toBe(
      'NAME    DESIRED STATE   ERROR\nweb.1   Shutdown        "task: non-zero exit (1) after…"',
    )
  })

  it('`json`: the objects as the API gives them; -q: ids only', () => {
    listFormat('json', SERVICE_COLUMNS).print(list)
    expect(JSON.parse(printed())).toEqual(list)
    log.mockClear()
    listFormat('{{.Name}}', SERVICE_COLUMNS).print(list, { quiet: true, id: (s) => s.id })
    expect(printed()).toBe(`${list[0]?.id}\n${list[1]?.id}`)
  })

  it('refuses what it cannot print, before anything is fetched (exit 2)', () => {
    expect(usageError(() => listFormat('yaml', SERVICE_COLUMNS)).message).toMatch(
      /invalid --format 'yaml': expected json, table/,
    )
    expect(usageError(() => listFormat('{{.Image}}', SERVICE_COLUMNS)).message).toMatch(
      /no field \.Image; the fields are \.ID, \.Name, \.Mode, \.Replicas, \.Command/,
    )
    expect(usageError(() => listFormat('{{range .}}x{{end}}', SERVICE_COLUMNS)).message).toMatch(
      /is not supported/,
    )
    expect(usageError(() => listFormat('table {{.Nope}}', SERVICE_COLUMNS)).message).toMatch(
      /no field \.Nope/,
    )
  })
})

describe('--format of inspect', () => {
  it('JSON by default, a template per object, plain errors', () => {
    inspectFormat(undefined)([{ name: 'web', spec: { replicas: 3 } }])
    expect(JSON.parse(printed())).toEqual([{ name: 'web', spec: { replicas: 3 } }])
    log.mockClear()
    inspectFormat('{{.Name}} {{.spec.replicas}} {{json .spec}}')([{ name: 'web', spec: { replicas: 3 } }])
    expect(printed()).toBe('web 3 {"replicas":3}')
    expect(usageError(() => inspectFormat('table')).message).toMatch(/expected json or a template/)
    expect(usageError(() => inspectFormat('{{.name}}')([{ name: 'x' }, 'no fields'])).message).toMatch(
      /has no fields/,
    )
  })
})

describe('alignTabs', () => {
  it('pads every column but the last to its widest cell plus 3', () => {
    expect(alignTabs(['a\tbb\tc', 'aaaa\tb\t'])).toEqual(['a      bb   c', 'aaaa   b'])
  })
})
