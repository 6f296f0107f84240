import { sql, type Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';

/**
 * 0009_health: gateway health per station, derived from the rhythm of its CUPS
 * calls (core/health.ts). One row per station that has called since; a station
 * without a row is `unknown`. Its changes are announced like the twin's (kind
 * `s`, see 0004_change_notify) because the registry cache holds the record with
 * the station for the update-info hot path: a row changes only when the health
 * or its counters move, never on a steady poll.
 */
export async function healthTables(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  await db.schema
    .createTable('station_health')
    .addColumn('eui', 'text', (c) => c.primaryKey().references('stations.eui').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('unknown', 'healthy', 'lns_failing')`))
    .addColumn('early_run', 'integer', (c) => c.notNull())
    .addColumn('run_from', 'bigint')
    .addColumn('since', 'bigint')
    .addColumn('gap_ms', 'bigint')
    .addColumn('interval_ms', 'bigint', (c) => c.notNull())
    .addColumn('candidate_ms', 'bigint')
    .addColumn('calls_again', 'integer', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('station_health_state').on('station_health').columns(['state', 'eui']).execute();

  if (flavour === 'postgres') {
    await sql`create trigger station_health_announce after insert or update or delete on station_health for each row execute function bscups_announce_change('s')`.execute(db);
    return;
  }
  for (const [op, row] of [['insert', 'new'], ['update', 'new'], ['delete', 'old']] as const) {
    await sql`create trigger ${sql.id(`station_health_announce_${op}`)} after ${sql.raw(op)} on station_health begin insert into registry_changes (eui, kind) values (${sql.raw(`${row}.eui`)}, 's'); end`.execute(db);
  }
}
