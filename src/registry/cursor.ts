import { sql, type SelectQueryBuilder } from 'kysely';
import { invalid } from '../core/errors.js';
import type { Page } from './fleet-types.js';

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

/** What a page of a newest-first listing is asked for (events, audit): rows with `at` in [since, until), continuing after `cursor`. */
export interface IdWindowQuery {
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** A checked IdWindowQuery: its limit valid and its cursor decoded to the id the page continues below. */
export interface IdWindow {
  readonly tag: string;
  readonly since: Date | undefined;
  readonly until: Date | undefined;
  readonly limit: number;
  readonly before: number | undefined;
}

/** Checks the limit and the cursor of a newest-first listing named `tag`; throws invalid before any query runs. */
export function idWindow(query: IdWindowQuery, tag: string): IdWindow {
  checkLimit(query.limit);
  const before = query.cursor === undefined ? undefined : (decodeCursor(query.cursor, 2, tag)[1] as number);
  return { tag, since: query.since, until: query.until, limit: query.limit, before };
}

/** Narrows `query` (over a table with numeric `id` and `at` columns) to the rows of one page, newest first, plus one to tell whether there is more. */
export function newestFirst<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, window: IdWindow): SelectQueryBuilder<DB, TB, O> {
  const { since, until, before } = window;
  return query
    .$if(since !== undefined, (q) => q.where(sql.ref('at'), '>=', (since as Date).getTime()))
    .$if(until !== undefined, (q) => q.where(sql.ref('at'), '<', (until as Date).getTime()))
    .$if(before !== undefined, (q) => q.where(sql.ref('id'), '<', before as number))
    .orderBy(sql.ref('id'), 'desc')
    .limit(window.limit + 1);
}

/** The page from the rows `newestFirst` selected: the first `limit` mapped, and a cursor after the last when there were more. */
export function newestFirstPage<R, T extends { readonly id: number }>(rows: readonly R[], window: IdWindow, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, window.limit).map(map);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > window.limit && last !== undefined ? encodeCursor([window.tag, last.id]) : null };
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
