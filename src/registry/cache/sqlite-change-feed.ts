import { createRequire } from 'node:module';
import type { ChangeFeed, ChangeKind, ChangeListener } from './change-feed.js';

/** Rows kept in registry_changes: far more than a process can fall behind between two polls. */
const KEEP_CHANGES = 10_000;
const PRUNE_EVERY_MS = 60_000;

/** Options of the SQLite change feed. */
export interface SqliteFeedOptions {
  /** The registry file (never :memory:, which no other process can open). */
  readonly path: string;
  /** A poll() sooner than this after the last one does nothing. */
  readonly pollIntervalMs: number;
  readonly logger?: { warn(obj: object, msg?: string): void } | undefined;
}

interface ChangeRow {
  readonly seq: number;
  readonly eui: string;
  readonly kind: ChangeKind;
}

/**
 * Hears other processes through SQLite itself: `PRAGMA data_version` on a
 * connection of its own moves whenever another connection committed, and the
 * rows the triggers appended to `registry_changes` since the last seen `seq`
 * name the stations. better-sqlite3 is synchronous, so poll() can run on the
 * hot path: an unchanged data_version costs about a microsecond. The feed's
 * own connection never writes inside a transaction of the registry's, so it
 * only ever sees committed changes, in commit order (SQLite has one writer).
 */
export function sqliteChangeFeed(options: SqliteFeedOptions): ChangeFeed {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
  let conn: import('better-sqlite3').Database | undefined;
  let dataVersion: import('better-sqlite3').Statement<[], number> | undefined;
  let since: import('better-sqlite3').Statement<[number], ChangeRow> | undefined;
  let listener: ChangeListener | undefined;
  let lastVersion = -1;
  let lastSeq = 0;
  let lastPoll = -Infinity;
  let healthy = false;
  let pruner: NodeJS.Timeout | undefined;

  const open = (): void => {
    // No busy wait: this connection runs on the event loop, and only its pruning ever needs a lock.
    conn = new Database(options.path, { timeout: 0, fileMustExist: true });
    dataVersion = conn.prepare<[], number>('pragma data_version').pluck();
    since = conn.prepare<[number], ChangeRow>('select seq, eui, kind from registry_changes where seq > ? order by seq');
    lastVersion = dataVersion.get() as number;
    lastSeq = (conn.prepare('select coalesce(max(seq), 0) from registry_changes').pluck().get() as number) ?? 0;
  };

  const fail = (e: unknown): void => {
    if (healthy) {
      healthy = false;
      options.logger?.warn({ err: e, database: options.path }, 'registry change log unreadable; serving from the database until it is back');
      listener?.lost(`change log unreadable: ${(e as Error).message}`);
    }
    conn?.close();
    conn = undefined;
  };

  const poll = (): void => {
    const now = performance.now();
    if (now - lastPoll < options.pollIntervalMs) return;
    lastPoll = now;
    try {
      if (conn === undefined) {
        open();
        healthy = true;
        listener?.live();
        return;
      }
      const version = (dataVersion as NonNullable<typeof dataVersion>).get() as number;
      if (version === lastVersion) return;
      lastVersion = version;
      const rows = (since as NonNullable<typeof since>).all(lastSeq);
      const first = rows[0];
      if (first !== undefined && first.seq !== lastSeq + 1) {
        // Pruned past what this process read: which stations changed is unknown.
        listener?.lost('change log pruned past this process');
        listener?.live();
      } else {
        for (const row of rows) listener?.changed(row.eui, row.kind);
      }
      if (rows.length > 0) lastSeq = (rows[rows.length - 1] as ChangeRow).seq;
    } catch (e) {
      fail(e);
    }
  };

  return {
    start(l) {
      listener = l;
      try {
        open();
        healthy = true;
        lastPoll = performance.now();
        l.live();
      } catch (e) {
        // Reported as lost: the cache stays empty and poll() retries opening.
        healthy = true;
        fail(e);
      }
      pruner = setInterval(() => {
        try {
          conn?.prepare('delete from registry_changes where seq <= (select max(seq) from registry_changes) - ?').run(KEEP_CHANGES);
        } catch (e) {
          // Another process was writing at that instant: prune at the next round rather than wait.
          if ((e as { code?: string }).code !== 'SQLITE_BUSY') options.logger?.warn({ err: e, database: options.path }, 'could not prune the registry change log');
        }
      }, PRUNE_EVERY_MS);
      pruner.unref();
      return Promise.resolve();
    },
    poll,
    expire() {
      lastPoll = -Infinity;
    },
    close() {
      if (pruner !== undefined) clearInterval(pruner);
      listener = undefined;
      conn?.close();
      conn = undefined;
      return Promise.resolve();
    },
  };
}
