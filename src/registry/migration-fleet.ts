import { sql, type Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';
import { CONFIG_STATE_EXPRESSION } from './sync-state-sql.js';

/**
 * 0005_fleet_api: what listings, the fleet summary and the admin API need.
 * - station_labels mirrors the JSON labels of `stations` one row per label, so a
 *   label filter is an index lookup on both dialects (JSON operators differ and
 *   SQLite cannot index arbitrary JSON keys). The registry writes both in one
 *   transaction.
 * - indexes for the filters listings offer and the summary groups by.
 * - api_keys (hashes only) and audit_log for operator access.
 */
export async function fleetApiTables(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  await db.schema
    .createTable('station_labels')
    .addColumn('eui', 'text', (c) => c.notNull().references('stations.eui').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('station_labels_pk', ['eui', 'key'])
    .execute();
  await db.schema.createIndex('station_labels_key_value').on('station_labels').columns(['key', 'value', 'eui']).execute();
  await backfillLabels(db);

  // Stored in PostgreSQL; virtual in SQLite (ALTER TABLE cannot add a stored one there), whose
  // index below keeps the computed values, so counting by state reads only the index.
  const kind = sql.raw(flavour === 'postgres' ? 'stored' : 'virtual');
  await sql`alter table stations add column config_state text generated always as ${sql.raw(CONFIG_STATE_EXPRESSION)} ${kind}`.execute(db);
  // The summary groups by these three in one pass over this narrow index rather than the table.
  await db.schema.createIndex('stations_summary').on('stations').columns(['config_state', 'reported_package', 'reported_model']).execute();
  // Covers the summary's join from unfinished firmware targets to their station's config state.
  await db.schema.createIndex('stations_eui_config').on('stations').columns(['eui', 'config_state']).execute();
  for (const column of ['reported_model', 'reported_package', 'reported_station', 'last_seen_at']) {
    await db.schema.createIndex(`stations_${column}`).on('stations').columns([column, 'eui']).execute();
  }
  // Sort keys of the listing (station-query.ts SORT_KEY), so a sorted page is an index range.
  await sql`create index stations_sort_name on stations ((coalesce(name, '')), eui)`.execute(db);
  await sql`create index stations_sort_last_seen on stations ((coalesce(last_seen_at, 0)), eui)`.execute(db);
  await db.schema.createIndex('firmware_targets_state').on('firmware_targets').columns(['state', 'eui']).execute();
  await db.schema.createIndex('station_events_type_id').on('station_events').columns(['type', 'id']).execute();
  // Time filters use station_events_at from 0003_event_coalescing.

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('viewer', 'operator', 'admin')`))
    // SHA-256 of the secret part, lowercase hex: the key itself is never stored.
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('audit_log')
    .$call((t) =>
      flavour === 'sqlite'
        ? t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        : t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity()),
    )
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_key_id', 'text')
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('remote_address', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_action_id').on('audit_log').columns(['action', 'id']).execute();
}

async function backfillLabels(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ eui: string; labels: string }>`select eui, labels from stations`.execute(db);
  for (const row of rows) {
    for (const [key, value] of Object.entries(JSON.parse(row.labels) as Record<string, string>)) {
      await sql`insert into station_labels (eui, key, value) values (${row.eui}, ${key}, ${value})`.execute(db);
    }
  }
}
