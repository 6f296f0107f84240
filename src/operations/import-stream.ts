import { StringDecoder } from 'node:string_decoder';
import {
  csvHeaderFields,
  csvRecordRow,
  detectFormat,
  jsonElementRow,
  jsonLineRow,
  malformedJson,
  parseCsv,
  type ImportField,
  type ImportFormat,
  type SourceRow,
} from './station-import-format.js';

// Import files read as a stream: the rows of a file of any size come out a few
// at a time, never the whole file (or its parsed rows) in memory at once. The
// same record rules as the whole-text readers in station-import-format.ts.

/** An import file that can be read more than once (the import checks every row before it writes any). */
export interface ImportSource {
  /** The file's bytes (or text) from the start, each time it is called. */
  open(): AsyncIterable<Buffer | string>;
  /** The format named by the operator; undefined: by the file name, else by the content. */
  readonly format?: ImportFormat | undefined;
  readonly fileName?: string | undefined;
}

/** An import source over text already in memory (a small API body, a test). */
export function textSource(text: string, options: { readonly format?: ImportFormat | undefined; readonly fileName?: string | undefined } = {}): ImportSource {
  return {
    async *open() {
      // Pieces, so a large text still yields between them.
      for (let i = 0; i < text.length; i += 64 * 1024) yield text.slice(i, i + 64 * 1024);
    },
    format: options.format,
    fileName: options.fileName,
  };
}

/** Decodes UTF-8 across chunk boundaries and drops a leading byte-order mark. */
async function* texts(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of chunks) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && text !== '') {
      text = text.replace(/^\uFEFF/, '');
      first = false;
    }
    if (text !== '') yield text;
  }
  const rest = decoder.end();
  if (rest !== '') yield rest;
}

/** The rows of an import source, in order, as they are read. */
export async function* streamImportRows(source: ImportSource): AsyncGenerator<SourceRow> {
  const it = texts(source.open())[Symbol.asyncIterator]();
  // Enough of the start to tell the format by content (its first non-blank character).
  const head: string[] = [];
  let seen = '';
  while (source.format === undefined && seen.trim() === '') {
    const next = await it.next();
    if (next.done === true) break;
    head.push(next.value);
    seen += next.value.slice(0, 1024);
  }
  const format = source.format ?? detectFormat(seen, source.fileName);
  async function* all(): AsyncGenerator<string> {
    yield* head;
    for (;;) {
      const next = await it.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  if (format === 'csv') yield* csvRows(all());
  else if (format === 'jsonl') yield* jsonLines(all());
  else yield* jsonArray(all());
}

/** CSV a block of whole records at a time: a block ends at a newline outside quotes. */
async function* csvRows(input: AsyncIterable<string>): AsyncGenerator<SourceRow> {
  let pending = '';
  let quoted = 0; // quotes in `pending` so far, mod 2: a newline ends a record only when even
  let line = 1;
  let fields: ImportField[] | undefined;
  let row = 0;
  function* block(text: string): Generator<SourceRow> {
    const records = parseCsv(text, line);
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
    for (const record of records) {
      if (fields === undefined) {
        fields = csvHeaderFields(record.cells);
        continue;
      }
      yield csvRecordRow(fields, record, ++row);
    }
  }
  for await (const text of input) {
    let cut = -1;
    let q = quoted;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) q ^= 1;
      else if (c === 10 && q === 0) cut = i;
    }
    if (cut < 0) {
      pending += text;
      quoted = q;
      continue;
    }
    const whole = pending + text.slice(0, cut + 1);
    pending = text.slice(cut + 1);
    quoted = q; // even at the cut, so what follows it has the parity of the whole chunk
    yield* block(whole);
  }
  if (pending !== '') yield* block(pending);
}

/** JSON lines: one object per non-blank line. */
async function* jsonLines(input: AsyncIterable<string>): AsyncGenerator<SourceRow> {
  let pending = '';
  let line = 0;
  let row = 0;
  for await (const text of input) {
    const parts = (pending + text).split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      line++;
      const raw = part.endsWith('\r') ? part.slice(0, -1) : part;
      if (raw.trim() !== '') yield jsonLineRow(raw, line, ++row);
    }
  }
  line++;
  if (pending.trim() !== '') yield jsonLineRow(pending.replace(/\r$/, ''), line, ++row);
}

const SPACE = /\s/;

/** A JSON array of objects, an element at a time: each top-level element is cut out and parsed alone. */
async function* jsonArray(input: AsyncIterable<string>): AsyncGenerator<SourceRow> {
  let buf = '';
  let i = 0;
  let state: 'before' | 'inside' | 'after' = 'before';
  let depth = 0;
  let inString = false;
  let start = -1;
  let startLine = 1;
  let line = 1;
  let row = 0;
  let expectElement = true;
  const element = (end: number): SourceRow => {
    const text = buf.slice(start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw malformedJson(`element ${row + 1}, line ${startLine}: ${(e as Error).message}`);
    }
    start = -1;
    return jsonElementRow(value, ++row, startLine);
  };
  for await (const text of input) {
    buf += text;
    for (; i < buf.length; i++) {
      const c = buf[i] as string;
      if (c === '\n') line++;
      if (state === 'before') {
        if (c === '[') state = 'inside';
        else if (!SPACE.test(c)) throw malformedJson();
        continue;
      }
      if (state === 'after') {
        if (!SPACE.test(c)) throw malformedJson('text after the closing ]');
        continue;
      }
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (depth === 0) {
        if (c === ',' || c === ']') {
          if (start >= 0) yield element(i);
          else if (c === ',' || !expectElement || row > 0) throw malformedJson(`line ${line}: a missing element`);
          expectElement = c === ',';
          if (c === ']') state = 'after';
          continue;
        }
        if (SPACE.test(c)) continue;
        if (start < 0) {
          if (!expectElement) throw malformedJson(`line ${line}: a missing comma`);
          start = i;
          startLine = line;
          expectElement = false;
        }
      }
      if (c === '"') inString = true;
      else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') depth--;
    }
    // Keep only what an element not yet closed needs.
    const keep = start >= 0 ? start : i;
    buf = buf.slice(keep);
    i -= keep;
    if (start >= 0) start = 0;
  }
  if (state !== 'after') throw state === 'before' ? malformedJson() : malformedJson('the array is never closed');
}
