import type { Kysely } from 'kysely';

/**
 * 0022_notify: what the server has already told about, so a webhook event that
 * is read off the clock (not written by an exchange) goes out once, across
 * passes and replicas. A station's silence is derived when health is read (its
 * last call older than its interval plus the grace); the notice sweep claims a
 * station's entry into silence by inserting its row here, and the row goes when
 * the station calls again. A certificate entering an expiry window (30 days, 7,
 * 1) is claimed by its row per window, keyed by what the certificate is for and
 * its fingerprint, so a renewed certificate starts afresh.
 */
export async function noticeTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('station_silences')
    .addColumn('eui', 'text', (c) => c.primaryKey().references('stations.eui').onDelete('cascade'))
    // The last call before the silence, and when the sweep noticed it.
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('noticed_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('certificate_notices')
    // 'station:<eui>', 'server' or 'station_ca'.
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('noticed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('certificate_notices_pk', ['subject', 'fingerprint', 'window_ms'])
    .execute();
  // Notices of certificates long expired are pruned by this range.
  await db.schema.createIndex('certificate_notices_not_after').on('certificate_notices').column('not_after').execute();
}
