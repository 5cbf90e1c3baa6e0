/**
 * The Go-template subset people pass to `--format`, and nothing more: text, `{{.Field}}`,
 * `{{.A.B}}`, `{{.}}`, `{{json .}}`, `{{json .Field}}`, with the escapes `\t` and `\n` turned
 * into a tab and a newline (docker/cli does the same before parsing). Anything else between
 * `{{ }}` (range, if, pipes, other functions, variables) is refused with a
 * {@link TemplateError} naming what is supported — never silently printed as text.
 *
 * Values print as Go's text/template prints them: strings as they are, numbers and booleans
 * in decimal/`true`, a missing map key as `<no value>`, arrays as `[a b]` and objects as
 * `map[k:v]` (keys sorted); `json` prints JSON on one line.
 */

/** A `--format` the subset cannot run; the message is for the user (exit code 2). */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TemplateError'
  }
}

type Node =
  | { kind: 'text'; text: string }
  /** `path` empty: the dot itself. */
  | { kind: 'field'; path: readonly string[]; json: boolean; source: string }

/** A parsed template: run it against one value. */
export interface Template {
  /** The field paths the template reads (`[]` for `{{.}}`), in order. */
  readonly fields: readonly (readonly string[])[]
  execute(value: unknown): string
}

const SUPPORTED = '{{.Field}}, {{.A.B}}, {{json .}} or {{json .Field}}'
const FIELD = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?$/

/** `\t` and `\n` as written on a command line become a tab and a newline. */
export function unescapeFormat(format: string): string {
  return format.replaceAll('\\t', '\t').replaceAll('\\n', '\n')
}

/** Parses a template of the subset; throws {@link TemplateError} on anything else. */
export function parseTemplate(format: string): Template {
  const text = unescapeFormat(format)
  const nodes: Node[] = []
  let i = 0
  while (i < text.length) {
    const open = text.indexOf('{{', i)
    if (open < 0) {
      nodes.push({ kind: 'text', text: text.slice(i) })
      break
    }
    if (open > i) nodes.push({ kind: 'text', text: text.slice(i, open) })
    const close = text.indexOf('}}', open + 2)
    if (close < 0)
      throw new TemplateError(`unclosed action at '${text.slice(open, open + 20)}': missing '}}'`)
    nodes.push(action(text.slice(open + 2, close), text.slice(open, close + 2)))
    i = close + 2
  }
  const fields = nodes.flatMap((n) => (n.kind === 'field' ? [n.path] : []))
  return {
    fields,
    execute: (value) => nodes.map((n) => (n.kind === 'text' ? n.text : render(n, value))).join(''),
  }
}

function action(inner: string, source: string): Node {
  // {{- and -}} trim markers are Go syntax too; accept them as plain spacing
  const body = inner.replace(/^-\s/, '').replace(/\s-$/, '').trim()
  const words = body.split(/\s+/).filter((w) => w.length > 0)
  if (words.length === 1 && FIELD.test(words[0] ?? '')) return field(words[0] ?? '.', false, source)
  if (words.length === 2 && words[0] === 'json' && FIELD.test(words[1] ?? ''))
    return field(words[1] ?? '.', true, source)
  throw new TemplateError(`'${source}' is not supported: use ${SUPPORTED}`)
}

function field(word: string, json: boolean, source: string): Node {
  return { kind: 'field', path: word === '.' ? [] : word.slice(1).split('.'), json, source }
}

function render(n: Extract<Node, { kind: 'field' }>, value: unknown): string {
  let v: unknown = value
  for (const [i, name] of n.path.entries()) {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new TemplateError(
        `'${n.source}': ${i === 0 ? 'the value' : `.${n.path.slice(0, i).join('.')}`} has no fields`,
      )
    const obj = v as Record<string, unknown>
    const key = keyOf(obj, name)
    if (key === undefined) return '<no value>'
    v = obj[key]
  }
  return n.json ? JSON.stringify(v ?? null) : goString(v)
}

/** The exact key, else the one key that matches ignoring case (`.Name` reads `name`). */
function keyOf(obj: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name
  const lower = name.toLowerCase()
  const matches = Object.keys(obj).filter((k) => k.toLowerCase() === lower)
  return matches.length === 1 ? matches[0] : undefined
}

/** A value as Go's text/template prints it. */
export function goString(v: unknown): string {
  if (v === undefined || v === null) return '<no value>'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (Array.isArray(v)) return `[${v.map((x) => goString(x)).join(' ')}]`
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    )
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`
  }
  return String(v)
}
