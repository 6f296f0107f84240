import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { unavailable } from '../core/errors.js';
import { runMigrator, type BackendOptions, type RegistryBackend } from './backend.js';
import type { RegistryDatabase } from './db-schema.js';
import { withStatementCache } from './sqlite-statement-cache.js';

/** How long a connection to the registry file waits for another writer's lock. */
export const BUSY_TIMEOUT_MILLIS = 5_000;

/** Opens (lazily, on first query) the embedded SQLite registry at `path` or `:memory:`. */
export function openSqliteBackend(path: string, display: string, options: BackendOptions): RegistryBackend {
  const memory = path === ':memory:';
  if (!memory) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      ownerOnly(path);
    } catch (e) {
      throw unavailable(
        'registry_unavailable',
        `Cannot create the directory for the station registry ${display} (${(e as Error).message}). Choose a writable path in the registry URL.`,
        e,
      );
    }
  }
  // Loaded here so a PostgreSQL deployment never loads the native addon; require
  // because the package is CommonJS with an `export =` typing.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
  const dialect = new SqliteDialect({
    database: () => {
      const conn = new Database(path, { timeout: BUSY_TIMEOUT_MILLIS });
      const mode = conn.pragma('journal_mode = WAL', { simple: true }) as string;
      if (!memory && mode.toLowerCase() !== 'wal') {
        // Some network filesystems refuse WAL; the registry still works, only slower.
        options.logger?.warn({ database: display, journalMode: mode }, 'SQLite refused WAL mode');
      }
      conn.pragma(`busy_timeout = ${BUSY_TIMEOUT_MILLIS}`);
      conn.pragma('foreign_keys = ON');
      conn.pragma('synchronous = NORMAL');
      return Promise.resolve(withStatementCache(conn));
    },
  });
  const db = new Kysely<RegistryDatabase>({ dialect });
  return {
    db,
    flavour: 'sqlite',
    display,
    // Kysely runs SQLite migrations without a transaction or lock; BEGIN IMMEDIATE
    // takes the write lock up front, so two processes sharing the file (a server and
    // a CLI) migrate one after the other and a failed migration leaves nothing behind.
    // Foreign keys are off while migrating (they can be switched only outside a
    // transaction): a migration that rebuilds a table (SQLite cannot alter a check)
    // drops the old one, which would otherwise cascade to the rows referring to it.
    // They are checked before the commit instead.
    migrate: () =>
      db.connection().execute(async (conn) => {
        await sql`pragma foreign_keys = off`.execute(conn);
        await sql`begin immediate`.execute(conn);
        try {
          const ran = await runMigrator(conn, 'sqlite');
          // Checked only after a migration ran: the check reads every referring table.
          const broken = ran === 0 ? { rows: [] } : await sql<{ table: string }>`pragma foreign_key_check`.execute(conn);
          if (broken.rows.length > 0) throw new Error(`migration left rows whose reference is gone (in ${[...new Set(broken.rows.map((r) => r.table))].join(', ')}); nothing was changed`);
          await sql`commit`.execute(conn);
        } catch (e) {
          // The original failure matters more than a rollback that finds no transaction.
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw e;
        } finally {
          await sql`pragma foreign_keys = on`.execute(conn);
        }
      }),
  };
}

/**
 * The registry holds token hashes and the station twins: readable by the owner
 * only. Creating the file before SQLite does sets its mode, which SQLite then
 * gives its -wal and -shm files too; a file left 0644 by older versions is
 * tightened.
 */
function ownerOnly(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    const mode = statSync(file, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
  }
}
