import { sql, type Kysely } from 'kysely';

/**
 * 0002_auth: station authentication, in tables of its own so that reading it
 * never reads the station twin. A station without a `station_auth` row has mode
 * `none`. Times are epoch milliseconds, CRCs unsigned 32-bit, as in 0001.
 */
export async function authTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('station_auth')
    .addColumn('eui', 'text', (c) => c.primaryKey().references('stations.eui').onDelete('cascade'))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('mtls', 'token', 'none')`))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('station_certificates')
    .addColumn('eui', 'text', (c) => c.notNull().references('stations.eui').onDelete('cascade'))
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull().check(sql`category in ('cups', 'tc')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'retired')`))
    .addColumn('cred_crc', 'bigint', (c) => c.notNull().check(sql`cred_crc >= 0 and cred_crc <= 4294967295`))
    .addColumn('not_after', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .addColumn('retired_reason', 'text')
    .addPrimaryKeyConstraint('station_certificates_pk', ['eui', 'fingerprint'])
    .execute();

  // The hash is unique across stations: looking a token up by hash must name one station.
  await db.schema
    .createTable('station_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('eui', 'text', (c) => c.notNull().references('stations.eui').onDelete('cascade'))
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('category', 'text', (c) => c.notNull().check(sql`category in ('cups', 'tc')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'retired')`))
    .addColumn('cred_crc', 'bigint', (c) => c.notNull().check(sql`cred_crc >= 0 and cred_crc <= 4294967295`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .addColumn('retired_reason', 'text')
    .execute();
  await db.schema.createIndex('station_tokens_eui').on('station_tokens').column('eui').execute();

  await db.schema
    .createTable('station_rotations')
    .addColumn('eui', 'text', (c) => c.notNull().references('stations.eui').onDelete('cascade'))
    .addColumn('category', 'text', (c) => c.notNull().check(sql`category in ('cups', 'tc')`))
    .addColumn('new_crc', 'bigint', (c) => c.notNull().check(sql`new_crc >= 0 and new_crc <= 4294967295`))
    .addColumn('target_mode', 'text', (c) => c.check(sql`target_mode in ('mtls', 'token', 'none')`))
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('station_rotations_pk', ['eui', 'category'])
    .execute();
}
