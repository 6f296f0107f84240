import { Kysely, PostgresDialect, sql } from 'kysely';
import type { PoolConfig } from 'pg';
import { runMigrator, type BackendOptions, type RegistryBackend } from './backend.js';
import type { RegistryDatabase } from './db-schema.js';
import { isUniqueViolation } from './db-errors.js';

/** The parsed `postgres://` location (see registry-url.ts). */
export interface PostgresLocation {
  readonly connectionString: string;
  readonly schema: string | null;
  readonly connectTimeoutMillis: number;
  readonly display: string;
}

/** Builds the pool (no connection is made until the first query). */
export async function openPostgresBackend(location: PostgresLocation, options: BackendOptions): Promise<RegistryBackend> {
  // Loaded here so SQLite users need not have pg's dependencies resolved at startup.
  const { Pool } = await import('pg');
  const { schema, display } = location;
  const pool = new Pool(postgresConnectionConfig(location));
  // Without a listener an idle connection dropped by the server crashes the process;
  // the next query reports the outage to its caller anyway.
  pool.on('error', (err) => options.logger?.warn({ err, database: display }, 'idle PostgreSQL connection failed'));
  // pg-pool drops its own error listener while a client is checked out, so a
  // connection that dies between checkout and its first query (a database
  // restart racing a request) would emit an unhandled 'error' and crash the
  // server. The failed query still reports the outage to its caller.
  pool.on('connect', (client) => {
    client.on('error', (err) => options.logger?.warn({ err, database: display }, 'PostgreSQL connection failed'));
  });
  const db = new Kysely<RegistryDatabase>({ dialect: new PostgresDialect({ pool }) });

  return {
    db,
    flavour: 'postgres',
    display,
    async migrate() {
      if (schema !== null) await createSchema(db, schema);
      // Kysely looks for its bookkeeping tables in every schema unless told which one,
      // so name the schema the search path resolves to.
      const { rows } = await sql<{ name: string | null }>`select current_schema() as name`.execute(db);
      const current = rows[0]?.name;
      if (current === null || current === undefined) {
        throw new Error('the search path of this connection names no existing schema; add ?schema=NAME to the registry URL');
      }
      // Kysely's PostgresAdapter holds pg_advisory_lock for the whole run and applies
      // the migrations in one transaction, so replicas starting together migrate once.
      await migrateDespiteDroppedSchemas(async () => {
        await runMigrator(db, 'postgres', current, options.logger);
      });
    },
  };
}

/** How every connection to `location` is made: the pool's and the change listener's (cache/postgres-change-feed.ts). */
export function postgresConnectionConfig(location: PostgresLocation): PoolConfig {
  const url = new URL(location.connectionString);
  // pg lets the connection string override explicit config, so a user's own
  // `options=` is taken out of the URL and combined with the search path.
  const userOptions = url.searchParams.get('options');
  url.searchParams.delete('options');
  const startupOptions = [userOptions, location.schema === null ? null : `-c search_path=${location.schema}`].filter((o) => o !== null);
  return {
    connectionString: url.toString(),
    connectionTimeoutMillis: location.connectTimeoutMillis,
    ...(startupOptions.length === 0 ? {} : { options: startupOptions.join(' ') }),
  };
}

/**
 * Kysely's migrator looks for its tables by introspecting every schema of the
 * database, calling functions on each schema name; a schema dropped by someone
 * else in that instant (another registry's, a test's) fails the whole run with
 * invalid_schema_name (3F000). Nothing of ours changed, so run it again.
 */
async function migrateDespiteDroppedSchemas(run: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run();
      return;
    } catch (e) {
      const cause = (e as { cause?: { code?: unknown } }).cause;
      if (attempt >= 5 || cause?.code !== '3F000') throw e;
    }
  }
}

async function createSchema(db: Kysely<RegistryDatabase>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (e) {
    // Two replicas creating the schema at the same moment: IF NOT EXISTS does not
    // cover the race, the catalog's unique index does, and either way it now exists.
    const code = (e as { code?: unknown }).code;
    if (!isUniqueViolation(e) && code !== '42P06') throw e;
  }
}
