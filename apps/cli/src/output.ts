/**
 * Human and machine output. Tables follow docker/cli: upper-case headers, columns padded
 * to the widest cell and separated by three spaces, no borders.
 */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2))
}

export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd()
  console.log(line(headers))
  for (const r of rows) console.log(line(r))
}
