import { sql, type Kysely } from 'kysely';

/**
 * 0003_event_coalescing: bounds what strangers can write into a station's history.
 *
 * - Repeated refusals of one station, for one reason, from one source become one
 *   row: `coalesce_key` names that triple, unique per station while set, and
 *   `repeat_count` with `first_at` (first) and `at` (last) say how often and
 *   when. Ordinary events leave the key null and count 1.
 * - `station_events_at` serves the retention sweep by age.
 * - A token sent in clear over plain HTTP is marked compromised on its row
 *   (`compromised_at`, `compromised_reason`); it stays valid, see token-exposure.ts.
 */
export async function eventCoalescing(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('station_events').addColumn('repeat_count', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('station_events').addColumn('first_at', 'bigint').execute();
  await db.schema.alterTable('station_events').addColumn('coalesce_key', 'text').execute();
  await db.schema
    .createIndex('station_events_coalesce')
    .on('station_events')
    .columns(['eui', 'coalesce_key'])
    .unique()
    .where(sql.ref('coalesce_key'), 'is not', null)
    .execute();
  await db.schema.createIndex('station_events_at').on('station_events').column('at').execute();

  await db.schema.alterTable('station_tokens').addColumn('compromised_at', 'bigint').execute();
  await db.schema.alterTable('station_tokens').addColumn('compromised_reason', 'text').execute();
}
