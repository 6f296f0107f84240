import { visible } from '../core/visible-text.js';

export { visible };

/** How a command prints: human tables on stdout, or JSON for scripts. */
export interface Output {
  readonly json: boolean;
  /** Prints `value` as JSON in --json mode, else calls `human`. */
  result(value: unknown, human: () => void): void;
  line(text?: string): void;
  table(rows: readonly Record<string, unknown>[], columns: readonly string[]): void;
  /** Progress and notes for humans: stderr, so stdout stays parseable. */
  note(text: string): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(value, human) {
      if (json) stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
      else human();
    },
    line(text = '') {
      stdout.write(`${visible(text)}\n`);
    },
    table(rows, columns) {
      stdout.write(formatTable(rows, columns));
    },
    note(text) {
      stderr.write(`${visible(text)}\n`);
    },
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cells = rows.map((r) => columns.map((c) => cellText(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const render = (values: readonly string[]): string =>
    values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const lines = [render(columns.map((c) => c.toUpperCase())), ...cells.map(render)];
  if (rows.length === 0) lines.push('(none)');
  return `${lines.join('\n')}\n`;
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.map(cellText).join(',');
  if (typeof v === 'object') return visible(JSON.stringify(v));
  return visible(String(v));
}
