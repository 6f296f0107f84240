import { sql, type Kysely } from 'kysely';

/**
 * 0018_revert: automatic revert of a change that left a station unhealthy.
 * `rollout_members.revert` holds, as JSON, what became of a failed member's
 * revert (core/rollout-revert.ts); `station_reverts` is the guard a direct
 * `station set --tc-uri … --revert-unhealthy` leaves: the TC URI the station
 * had before, put back when its health turns lns_failing after the new one was
 * delivered (registry/revert/station-revert.ts). Neither is read on the
 * update-info hot path.
 */
export async function revertTables(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rollout_members').addColumn('revert', 'text').execute();
  await db.schema
    .createTable('station_reverts')
    .addColumn('eui', 'text', (c) => c.primaryKey().references('stations.eui').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('from_value', 'text')
    .addColumn('to_value', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // The engine looks for reverts still under way in rollouts that are no longer active
  // (a rollout can complete before its last failed station has called back): few rows.
  await sql`create index rollout_members_reverting on rollout_members (rollout_id) where revert like ${sql.lit(`${REVERTING_PREFIX}%`)}`.execute(db);
}

/** How a member's revert record under way begins (rollout-rows.ts revertColumn writes state first). */
export const REVERTING_PREFIX = '{"state":"reverting"';
