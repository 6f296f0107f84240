import type { SqliteDatabase, SqliteStatement } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3 as Kysely sees it, with prepared statements kept by SQL text.
 * Kysely prepares every query afresh, and preparing costs more than running the
 * short queries of an update-info exchange. Statements are only run with
 * all()/run() here (nothing streams), so one statement is never busy twice.
 * SQLite re-prepares a kept statement by itself after a schema change.
 */
export function withStatementCache(conn: BetterSqlite3.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      conn.close();
    },
    prepare(text: string): SqliteStatement {
      let stmt = cache.get(text);
      if (stmt === undefined) {
        stmt = conn.prepare(text) as unknown as SqliteStatement;
        if (cache.size >= max) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}
