/** A Markdown table: header cells and rows of already formatted cells. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Lines printed under the table: method, caveats, what a ratio is relative to. */
  readonly notes?: readonly string[];
  /** Markdown printed after the notes (a profile digest). */
  readonly appendix?: string;
}

/** Renders a table as GitHub Markdown, columns padded so it also reads well in a terminal. */
export function renderTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  const out = [`### ${table.title}`, '', line(table.columns), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  for (const row of table.rows) out.push(line(row));
  if (table.notes !== undefined && table.notes.length > 0) {
    out.push('');
    for (const n of table.notes) out.push(`- ${n}`);
  }
  if (table.appendix !== undefined && table.appendix !== '') out.push('', table.appendix.trimEnd());
  return `${out.join('\n')}\n`;
}

/** A number with a fixed count of decimals and thousands separators. */
export function num(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A ratio as a percentage, e.g. 0.4567 → "45.7%". */
export function pct(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : '—';
}

/** Bytes as MB (10^6), the unit throughput is quoted in. */
export function mb(bytes: number, decimals = 0): string {
  return num(bytes / 1e6, decimals);
}

/** The "met?" cell: yes, or no with the reason, so a missed target cannot be overlooked. */
export function met(ok: boolean, reason: string): string {
  return ok ? 'yes' : `**NO** (${reason})`;
}
