import { invalid } from '../core/errors.js';

// Cursors are opaque to clients: base64url JSON naming the last row of a page
// and what it was sorted by, so a cursor from another listing is refused rather
// than silently skipping rows.

export function encodeCursor(value: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor(cursor: string, expectedLength: number, tag: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== expectedLength || value[0] !== tag) {
    throw invalid('invalid_cursor', 'cursor is not one this listing returned (or the sort changed); start again without a cursor.', {
      field: 'cursor',
    });
  }
  return value;
}

export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw invalid('invalid_limit', `limit must be an integer from 1 to 1000, got ${String(limit)}.`, { field: 'limit' });
  }
}

/** Escapes LIKE wildcards so user text matches literally (used with ESCAPE '\'). */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
