import { describe, expect, it } from 'vitest'
import { goString, parseTemplate, TemplateError } from '../src/template.js'

const row = {
  ID: 'abc',
  Name: 'web',
  Spec: { Mode: { Replicas: 3 }, Labels: { b: '2', a: '1' } },
  List: ['x', 1],
}

describe('the Go-template subset', () => {
  it.each([
    ['{{.Name}}', 'web'],
    ['{{ .Name }}', 'web'],
    ['{{- .Name -}}', 'web'],
    ['id={{.ID}} name={{.Name}}', 'id=abc name=web'],
    ['{{.Spec.Mode.Replicas}}', '3'],
    ['{{.ID}}\\t{{.Name}}', 'abc\tweb'],
    ['{{.ID}}\\n{{.Name}}', 'abc\nweb'],
    ['{{json .Spec.Mode}}', '{"Replicas":3}'],
    ['{{json .Name}}', '"web"'],
    ['{{.Spec.Labels}}', 'map[a:1 b:2]'],
    ['{{.List}}', '[x 1]'],
    ['{{.Missing}}', '<no value>'],
    ['{{.name}}', 'web'],
    ['plain text', 'plain text'],
  ])('%s → %j', (format, want) => {
    expect(parseTemplate(format).execute(row)).toBe(want)
  })

  it('{{json .}} prints the whole value on one line', () => {
    expect(JSON.parse(parseTemplate('{{json .}}').execute(row))).toEqual(row)
    expect(parseTemplate('{{.}}').execute('x')).toBe('x')
  })

  it('lists the fields it reads', () => {
    expect(parseTemplate('{{.A}} {{json .B.C}} {{.}}').fields).toEqual([['A'], ['B', 'C'], []])
  })

  it.each([
    '{{range .}}{{.}}{{end}}',
    '{{if .Name}}x{{end}}',
    '{{.Name | printf "%s"}}',
    '{{upper .Name}}',
    '{{$x := .Name}}',
    '{{json}}',
    '{{.Name.}}',
    '{{..Name}}',
    '{{"text"}}',
    '{{.Name',
  ])('refuses %s with a plain error', (format) => {
    let err: unknown
    try {
      parseTemplate(format)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TemplateError)
    expect((err as Error).message).toMatch(/not supported|missing '}}'/)
  })

  it('refuses a field of a value that has none', () => {
    expect(() => parseTemplate('{{.Name.First}}').execute(row)).toThrow(TemplateError)
  })

  it('prints values as Go does', () => {
    expect(goString(null)).toBe('<no value>')
    expect(goString(true)).toBe('true')
    expect(goString(1.5)).toBe('1.5')
    expect(goString([])).toBe('[]')
    expect(goString({})).toBe('map[]')
  })
})
