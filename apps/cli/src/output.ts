/**
 * Human and machine output. Tables follow docker/cli: upper-case headers, columns padded
 * to the widest cell and separated by three spaces, no borders.
 *
 * `--format` of a list: absent or `table` (the default table), `json` (the API's objects as a
 * JSON array), `table TEMPLATE` (a table of the template's tab-separated cells, with the
 * columns' headers), or a template printed once per row. The row's fields are the table's
 * columns as Docker names them (`.ID`, `.Name`, …). A format is checked before anything is
 * asked of the agent, so a bad one is a usage error (exit 2).
 */
import { CliError } from './errors.js'
import { parseTemplate, type Template, TemplateError } from './template.js'

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2))
}

/** Lines of tab-separated cells as aligned columns (the last column is not padded). */
export function alignTabs(lines: readonly string[]): string[] {
  const rows = lines.map((l) => l.split('\t'))
  const widths: number[] = []
  for (const r of rows)
    for (const [i, c] of r.entries()) if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 0, c.length)
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd(),
  )
}

export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  for (const l of alignTabs([headers, ...rows].map((r) => r.join('\t')))) console.log(l)
}

/** One column of a list: its template field, its header and its cell. */
export interface Column<T> {
  readonly field: string
  readonly header: string
  value(item: T, noTrunc: boolean): string
}

/** How to print a list, decided from `--format` before the list is fetched. */
export interface ListFormat<T> {
  print(items: readonly T[], options?: { noTrunc?: boolean; quiet?: boolean; id?: (item: T) => string }): void
}

const FORMATS_HELP = "json, table, 'table TEMPLATE' or a template such as '{{.Name}}'"

function usage(err: unknown, format: string): never {
  if (err instanceof TemplateError) throw new CliError(`invalid --format '${format}': ${err.message}`, 2)
  throw err
}

function checkedTemplate<T>(format: string, columns: readonly Column<T>[]): Template {
  let t: Template
  try {
    t = parseTemplate(format)
  } catch (err) {
    usage(err, format)
  }
  for (const path of t.fields) {
    const name = path[0]
    if (name !== undefined && !columns.some((c) => c.field.toLowerCase() === name.toLowerCase()))
      throw new CliError(
        `invalid --format '${format}': no field .${name}; the fields are ${columns.map((c) => `.${c.field}`).join(', ')}`,
        2,
      )
  }
  return t
}

/** The default table when it is not simply every column. */
export interface DefaultTable<T> {
  readonly headers: readonly string[]
  rows(items: readonly T[], noTrunc: boolean): string[][]
}

/** Parses `--format` for a list with these columns. */
export function listFormat<T>(
  format: string | undefined,
  columns: readonly Column<T>[],
  defaultTable?: DefaultTable<T>,
): ListFormat<T> {
  const f = format?.trim()
  const rowOf = (item: T, noTrunc: boolean): Record<string, string> =>
    Object.fromEntries(columns.map((c) => [c.field, c.value(item, noTrunc)]))
  const quietly = (items: readonly T[], o: { quiet?: boolean; id?: (item: T) => string }): boolean => {
    if (o.quiet !== true || o.id === undefined) return false
    for (const i of items) console.log(o.id(i))
    return true
  }
  if (f === undefined || f === '' || f === 'table')
    return {
      print(items, o = {}) {
        if (quietly(items, o)) return
        const noTrunc = o.noTrunc === true
        const rows =
          defaultTable?.rows(items, noTrunc) ?? items.map((i) => columns.map((c) => c.value(i, noTrunc)))
        printTable(defaultTable?.headers ?? columns.map((c) => c.header), rows)
      },
    }
  if (f === 'json')
    return {
      print(items, o = {}) {
        if (!quietly(items, o)) printJson(items)
      },
    }
  if (f.startsWith('table ')) {
    const t = checkedTemplate(f.slice('table '.length), columns)
    const headers = Object.fromEntries(columns.map((c) => [c.field, c.header]))
    return {
      print(items, o = {}) {
        if (quietly(items, o)) return
        const lines = [t.execute(headers), ...items.map((i) => t.execute(rowOf(i, o.noTrunc === true)))]
        for (const l of alignTabs(lines)) console.log(l)
      },
    }
  }
  if (!f.includes('{{')) throw new CliError(`invalid --format '${f}': expected ${FORMATS_HELP}`, 2)
  const t = checkedTemplate(format ?? '', columns)
  return {
    print(items, o = {}) {
      if (quietly(items, o)) return
      for (const i of items) console.log(t.execute(rowOf(i, o.noTrunc === true)))
    },
  }
}

/** `--format` of inspect: the JSON array (default or `json`), or a template per object. */
export function inspectFormat(format: string | undefined): (items: readonly unknown[]) => void {
  const f = format?.trim()
  if (f === undefined || f === '' || f === 'json') return (items) => printJson(items)
  if (!f.includes('{{'))
    throw new CliError(`invalid --format '${f}': expected json or a template such as '{{.name}}'`, 2)
  let t: Template
  try {
    t = parseTemplate(format ?? '')
  } catch (err) {
    usage(err, format ?? '')
  }
  return (items) => {
    for (const i of items) {
      try {
        console.log(t.execute(i))
      } catch (err) {
        usage(err, format ?? '')
      }
    }
  }
}

/** An id cut to docker's 12 characters unless `--no-trunc`. */
export function shortId(id: string, noTrunc: boolean): string {
  return noTrunc ? id : id.slice(0, 12)
}

/** First letter upper, the rest as is (`running` → `Running`). */
export function title(s: string): string {
  return s ? (s[0]?.toUpperCase() ?? '') + s.slice(1) : ''
}
