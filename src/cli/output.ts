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

// C0 and C1 controls, DEL, line separators, and the bidirectional overrides that reorder what the eye reads.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Stations choose their own `station`, `model` and `package` strings, so anything
 * shown to a human may carry terminal escapes (clear the screen, rewrite a line) or
 * a newline that forges a table row: such characters are written as escapes
 * (`\x1b`, `\n`, `\u202e`). --json output keeps the raw value.
 */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}
