import { invalid } from '../core/errors.js';
import type { ProvisionedStation } from '../registry/index.js';

// The file formats of `station import` / `station export`: CSV with a header row
// (RFC 4180 quoting; labels as `k=v;k2=v2`), JSON lines, and (import only) a JSON
// array of objects. All become the same JSON-shaped rows, so one validation
// serves files, API bodies and the CLI.

export type ImportFormat = 'csv' | 'jsonl' | 'json';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'jsonl', 'json'];
/** What an export writes: the line formats, which import reads back. */
export type ExportFormat = 'csv' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'jsonl'];

/** The columns (CSV) or keys (JSON lines) a row may carry, in export order. */
export const IMPORT_FIELDS = ['eui', 'name', 'labels', 'cupsUri', 'tcUri', 'authMode'] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

/** A problem with one field of one row (field null: the row as a whole). */
export interface RowProblem {
  readonly field: string | null;
  readonly code: string;
  readonly message: string;
}

/** One record of the input before validation: JSON-shaped values, absent keys left out. */
export interface SourceRow {
  /** 1-based record number, header not counted. */
  readonly row: number;
  /** Line of the file the record starts on, when it came from a file. */
  readonly line?: number;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Problems found while reading the record itself (a label cell that does not parse, bad JSON). */
  readonly problems: readonly RowProblem[];
}

/** By the file name's extension when it has a known one, else by content: `[` a JSON array, `{` JSON lines, anything else CSV. */
export function detectFormat(text: string, fileName?: string): ImportFormat {
  if (fileName !== undefined) {
    if (/\.csv$/i.test(fileName)) return 'csv';
    if (/\.(jsonl|ndjson)$/i.test(fileName)) return 'jsonl';
    if (/\.json$/i.test(fileName)) return 'json';
  }
  if (/^\uFEFF?\s*\[/.test(text)) return 'json';
  return /^\uFEFF?\s*\{/.test(text) ? 'jsonl' : 'csv';
}

/** A format named by the operator (`--format`, `?format=`); undefined: detect it. */
export function parseImportFormat(value: string | undefined): ImportFormat | undefined {
  if (value === undefined) return undefined;
  if ((IMPORT_FORMATS as readonly string[]).includes(value)) return value as ImportFormat;
  throw invalid('invalid_format', `import format must be one of ${IMPORT_FORMATS.join(', ')}, got "${value}"`, { field: 'format' });
}

export function parseImportText(text: string, format: ImportFormat): SourceRow[] {
  if (format === 'json') return parseJsonArray(text);
  return format === 'csv' ? parseCsvRows(text) : parseJsonLines(text);
}

/** The rows of an import file, in the format given or the one its name or content says. */
export function readImportFile(text: string, options: { readonly format?: ImportFormat | undefined; readonly fileName?: string | undefined } = {}): SourceRow[] {
  return parseImportText(text, options.format ?? detectFormat(text, options.fileName));
}

/** A JSON array of objects; each element's line is where it starts in the text. */
function parseJsonArray(text: string): SourceRow[] {
  const src = text.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(src);
  } catch (e) {
    throw invalid('import_malformed_json', `the file is not valid JSON (${(e as Error).message}); a JSON import is one array of objects like [{"eui":"…","name":"…"}]`);
  }
  if (!Array.isArray(value)) throw invalid('import_malformed_json', 'a JSON import is one array of objects like [{"eui":"…","name":"…"}]');
  const lines = elementLines(src);
  return value.map((fields: unknown, i) => jsonElementRow(fields, i + 1, lines[i]));
}

/** The line each top-level element of a (valid) JSON array starts on. */
function elementLines(src: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (/\s/.test(c)) continue;
    if (depth === 1 && expectValue && c !== ']') {
      lines.push(line);
      expectValue = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectValue = true;
  }
  return lines;
}

function parseJsonLines(text: string): SourceRow[] {
  const rows: SourceRow[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    rows.push(jsonLineRow(raw, i + 1, rows.length + 1));
  });
  return rows;
}

/** One non-blank line of a JSON lines file as row `row`. */
export function jsonLineRow(raw: string, line: number, row: number): SourceRow {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return { row, line, fields: value as Record<string, unknown>, problems: [] };
  } catch (e) {
    const message = `line ${line} is not a JSON object (${(e as Error).message}); each line must be one object like {"eui":"…","name":"…"}`;
    return { row, line, fields: {}, problems: [{ field: null, code: 'invalid_json', message }] };
  }
}

/** One element of a JSON array import as row `row` (its line where it starts). */
export function jsonElementRow(fields: unknown, row: number, line: number | undefined): SourceRow {
  const at = line === undefined ? {} : { line };
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    return { row, ...at, fields: {}, problems: [{ field: null, code: 'invalid_row', message: `element ${row} of the array is not an object` }] };
  }
  return { row, ...at, fields: fields as Record<string, unknown>, problems: [] };
}

/** The error for an import that is not one JSON array of objects. */
export function malformedJson(why?: string): Error {
  const shape = 'a JSON import is one array of objects like [{"eui":"…","name":"…"}]';
  return invalid('import_malformed_json', why === undefined ? shape : `the file is not valid JSON (${why}); ${shape}`);
}

/** The canonical field a CSV header names: case, `_` and `-` do not matter (cups_uri, CUPS-URI, cupsUri). */
function headerField(name: string): ImportField | undefined {
  const plain = name.trim().toLowerCase().replace(/[_-]/g, '');
  return IMPORT_FIELDS.find((f) => f.toLowerCase() === plain);
}

function parseCsvRows(text: string): SourceRow[] {
  const records = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = records.shift();
  if (header === undefined) return [];
  const fields = csvHeaderFields(header.cells);
  return records.map((record, i) => csvRecordRow(fields, record, i + 1));
}

/** The fields a CSV header row names, in column order; refuses unknown, repeated and a missing eui column. */
export function csvHeaderFields(cells: readonly string[]): ImportField[] {
  const fields = cells.map((name) => {
    const field = headerField(name);
    if (field === undefined) {
      throw invalid('import_unknown_column', `the CSV header names an unknown column "${name}"; columns are ${IMPORT_FIELDS.join(', ')}`, { field: name });
    }
    return field;
  });
  const duplicate = fields.find((f, i) => fields.indexOf(f) !== i);
  if (duplicate !== undefined) throw invalid('import_duplicate_column', `the CSV header names the column ${duplicate} twice`, { field: duplicate });
  if (!fields.includes('eui')) throw invalid('import_missing_eui', `the CSV header has no eui column; columns are ${IMPORT_FIELDS.join(', ')}`, { field: 'eui' });
  return fields;
}

/** One CSV record as a row of `fields` (its record number `row`, header not counted). */
export function csvRecordRow(fields: readonly ImportField[], record: CsvRecord, row: number): SourceRow {
  {
    const problems: RowProblem[] = [];
    if (record.cells.length !== fields.length) {
      problems.push({ field: null, code: 'invalid_row', message: `has ${record.cells.length} cells where the header has ${fields.length}` });
      return { row, line: record.line, fields: {}, problems };
    }
    const values: Record<string, unknown> = {};
    fields.forEach((field, c) => {
      const cell = record.cells[c] ?? '';
      // An empty cell clears the field (a station's labels become none); auth mode cannot be cleared, so it is left as it is.
      if (field === 'labels') {
        try {
          values[field] = parseLabelCell(cell);
        } catch (e) {
          problems.push({ field, code: 'invalid_label', message: (e as Error).message });
        }
      } else if (field === 'authMode') {
        if (cell !== '') values[field] = cell;
      } else values[field] = cell === '' && field !== 'eui' ? null : cell;
    });
    return { row, line: record.line, fields: values, problems };
  }
}

export interface CsvRecord {
  readonly line: number;
  readonly cells: string[];
}

/** RFC 4180: comma-separated, `"` quotes (doubled inside), CRLF or LF; blank lines skipped. `firstLine`: the file line `text` starts on. */
export function parseCsv(text: string, firstLine = 1): CsvRecord[] {
  const records: CsvRecord[] = [];
  const src = text;
  let line = firstLine;
  let i = 0;
  while (i < src.length) {
    const start = line;
    const cells: string[] = [];
    let cell = '';
    for (;;) {
      if (src[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= src.length) throw invalid('import_malformed_csv', `a quoted cell opened on line ${opened} is never closed`, { line: opened });
          const c = src[i] as string;
          if (c === '"' && src[i + 1] === '"') {
            cell += '"';
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else {
            if (c === '\n') line++;
            cell += c;
            i++;
          }
        }
      }
      const c = src[i];
      if (c === ',') {
        cells.push(cell);
        cell = '';
        i++;
      } else if (c === undefined || c === '\n' || (c === '\r' && src[i + 1] === '\n')) {
        cells.push(cell);
        i += c === undefined ? 0 : c === '\r' ? 2 : 1;
        if (c !== undefined) line++;
        break;
      } else if (c === '"') {
        throw invalid('import_malformed_csv', `line ${line}: a quote inside an unquoted cell; quote the whole cell and double the quote ("")`, { line });
      } else {
        cell += c;
        i++;
      }
    }
    if (!(cells.length === 1 && cells[0] === '')) records.push({ line: start, cells });
  }
  return records;
}

/** `k=v;k2=v2`, where `\;` and `\\` stand for a `;` and a `\` inside a value. */
export function parseLabelCell(cell: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (cell.trim() === '') return labels;
  const pairs: string[] = [];
  let current = '';
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i] as string;
    if (c === '\\' && (cell[i + 1] === ';' || cell[i + 1] === '\\')) {
      current += cell[++i];
    } else if (c === ';') {
      pairs.push(current);
      current = '';
    } else current += c;
  }
  pairs.push(current);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`"${pair}" is not key=value; write labels as k=v;k2=v2`);
    const key = pair.slice(0, eq).trim();
    if (key in labels) throw new Error(`label ${key} is given twice`);
    labels[key] = pair.slice(eq + 1);
  }
  return labels;
}

function labelCell(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v.replace(/[\\;]/g, (c) => `\\${c}`)}`)
    .join(';');
}

/** What a spreadsheet reads as a formula (or, after a tab or CR, may): `=`, `+`, `-`, `@`, tab and CR. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A cell a spreadsheet shows as text: a leading `'` before a formula start. Off by
 * default, since import reads the `'` as part of the value (a name "-north" would come
 * back as "'-north"): a spreadsheet-safe file is for reading, not for a round trip.
 */
export function spreadsheetSafeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** How an export writes its lines. */
export interface ExportLineOptions {
  /** CSV only: prefix cells a spreadsheet would run as a formula with `'` (see spreadsheetSafeCell). */
  readonly spreadsheetSafe?: boolean;
}

function csvCell(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The first line of a CSV export. */
export function exportHeader(format: ExportFormat): string {
  return format === 'csv' ? `${IMPORT_FIELDS.join(',')}\r\n` : '';
}

/** One station as one line of `format`, which import reads back to exactly this station. */
export function exportLine(s: ProvisionedStation, format: ExportFormat, options: ExportLineOptions = {}): string {
  if (format === 'jsonl') {
    return `${JSON.stringify({ eui: s.eui, name: s.name, labels: s.labels, cupsUri: s.cupsUri, tcUri: s.tcUri, authMode: s.authMode })}\n`;
  }
  const cells = [s.eui, s.name ?? '', labelCell(s.labels), s.cupsUri ?? '', s.tcUri ?? '', s.authMode];
  const safe = options.spreadsheetSafe === true ? cells.map(spreadsheetSafeCell) : cells;
  return `${safe.map(csvCell).join(',')}\r\n`;
}
