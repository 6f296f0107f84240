import { sql, type Kysely } from 'kysely';
import type { MigrationLogger, SqlFlavour } from './migrations.js';

/**
 * 0007_text_search: trigram indexes for the listing's text match
 * (station-query.ts: `eui like '%X%' or lower(coalesce(name, '')) like '%x%'`).
 * A pattern with a leading wildcard cannot use a B-tree, so at 100,000 stations
 * PostgreSQL read the whole table for a rare match; pg_trgm's GIN operator class
 * serves LIKE on both expressions, and the planner ORs the two bitmaps.
 *
 * pg_trgm ships with PostgreSQL but creating it needs CREATE on the database (it
 * is a trusted extension) or a superuser. When that is refused the migration
 * still succeeds, without the indexes: the match stays correct and only slower,
 * and the warning says what an administrator can run. SQLite has no such index;
 * its scan of 100,000 names stays under the listing target (bench fleet-listing).
 */
export async function textSearchIndexes(db: Kysely<unknown>, flavour: SqlFlavour, logger: MigrationLogger | undefined): Promise<void> {
  if (flavour !== 'postgres') return;
  const schema = await trigramSchema(db, logger);
  if (schema === null) return;
  // Qualified, because the extension may live outside this registry's search path (see trigramSchema).
  const ops = sql.id(schema, 'gin_trgm_ops');
  await sql`create index stations_text_name on stations using gin ((lower(coalesce(name, ''))) ${ops})`.execute(db);
  await sql`create index stations_text_eui on stations using gin (eui ${ops})`.execute(db);
}

async function installedSchema(db: Kysely<unknown>): Promise<string | null> {
  const { rows } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  return rows[0]?.schema ?? null;
}

/**
 * The schema holding pg_trgm, creating the extension when it is missing. An
 * extension belongs to the database, not to a schema's registry: it goes into
 * `public` when allowed, so that dropping one registry's schema (CASCADE) does
 * not take the extension, and every other registry's trigram indexes, with it.
 * Each attempt sits in a savepoint because the migrations share one transaction.
 */
async function trigramSchema(db: Kysely<unknown>, logger: MigrationLogger | undefined): Promise<string | null> {
  const found = await installedSchema(db);
  if (found !== null) return found;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const candidates = [...new Set(['public', rows[0]?.schema ?? 'public'])];
  let reason = 'unknown';
  for (const candidate of candidates) {
    await sql`savepoint bscups_trgm`.execute(db);
    try {
      await sql`create extension if not exists pg_trgm schema ${sql.id(candidate)}`.execute(db);
      await sql`release savepoint bscups_trgm`.execute(db);
      return await installedSchema(db);
    } catch (e) {
      await sql`rollback to savepoint bscups_trgm`.execute(db);
      // Another registry of this database created it at the same moment: use theirs.
      const raced = await installedSchema(db);
      if (raced !== null) return raced;
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  logger?.warn(
    { reason },
    'pg_trgm could not be created, so station text search runs without its index (correct, slower on large fleets). ' +
      'A superuser can run CREATE EXTENSION pg_trgm and then, in the registry schema: ' +
      "CREATE INDEX stations_text_name ON stations USING gin ((lower(coalesce(name, ''))) gin_trgm_ops); " +
      'CREATE INDEX stations_text_eui ON stations USING gin (eui gin_trgm_ops)',
  );
  return null;
}
