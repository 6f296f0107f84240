import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { authTables } from './migration-auth.js';
import { eventCoalescing } from './migration-event-coalescing.js';
import { changeNotify } from './migration-change-notify.js';
import { fleetApiTables } from './migration-fleet.js';
import { rolloutTables } from './migration-rollouts.js';
import { textSearchIndexes } from './migration-text-search.js';
import { healthTables } from './migration-health.js';
import { certificateExpiryIndex } from './migration-certificate-expiry.js';
import { webhookTables } from './migration-webhooks.js';
import { noticeTables } from './migration-notify.js';
import { rolloutSchedule } from './migration-rollout-schedule.js';
import { revertTables } from './migration-revert.js';
import { rolloutApproval } from './migration-rollout-approval.js';
import { healthSoakColumns } from './migration-health-soak.js';

export type SqlFlavour = 'sqlite' | 'postgres';

/** Where a migration reports what it had to leave out (an optional index it could not build). */
export interface MigrationLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * The schema history, defined in code so the package needs no migration files on
 * disk. Names sort in the order they must run; never edit a released migration,
 * add the next one.
 */
export function registryMigrations(flavour: SqlFlavour, logger?: MigrationLogger): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_initial': { up: (db) => initial(db, flavour) },
    '0002_auth': { up: (db) => authTables(db) },
    '0003_event_coalescing': { up: (db) => eventCoalescing(db) },
    '0004_change_notify': { up: (db) => changeNotify(db, flavour) },
    '0005_fleet_api': { up: (db) => fleetApiTables(db, flavour) },
    '0006_rollouts': { up: (db) => rolloutTables(db, flavour) },
    '0007_text_search': { up: (db) => textSearchIndexes(db, flavour, logger) },
    '0009_health': { up: (db) => healthTables(db, flavour) },
    '0011_certificate_expiry': { up: (db) => certificateExpiryIndex(db) },
    '0016_webhooks': { up: (db) => webhookTables(db) },
    '0022_notify': { up: (db) => noticeTables(db) },
    '0019_rollout_schedule': { up: (db) => rolloutSchedule(db, flavour) },
    '0018_revert': { up: (db) => revertTables(db) },
    '0020_rollout_approval': { up: (db) => rolloutApproval(db, flavour) },
    '0017_health_soak': { up: (db) => healthSoakColumns(db) },
  };
  return { getMigrations: () => Promise.resolve(migrations) };
}

async function initial(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  await db.schema
    .createTable('stations')
    .addColumn('eui', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('cups_uri', 'text')
    .addColumn('tc_uri', 'text')
    .addColumn('cups_cred_blob', 'text')
    .addColumn('cups_cred_crc', 'bigint')
    .addColumn('cups_cred_size', 'bigint')
    .addColumn('tc_cred_blob', 'text')
    .addColumn('tc_cred_crc', 'bigint')
    .addColumn('tc_cred_size', 'bigint')
    .addColumn('reported_cups_uri', 'text')
    .addColumn('reported_tc_uri', 'text')
    .addColumn('reported_cups_cred_crc', 'bigint')
    .addColumn('reported_tc_cred_crc', 'bigint')
    .addColumn('reported_station', 'text')
    .addColumn('reported_model', 'text')
    .addColumn('reported_package', 'text')
    .addColumn('reported_keys', 'text')
    .addColumn('reported_at', 'bigint')
    .addColumn('last_seen_at', 'bigint')
    .addColumn('last_remote_address', 'text')
    .addColumn('problem', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('firmware_targets')
    .addColumn('eui', 'text', (c) => c.primaryKey().references('stations.eui').onDelete('cascade'))
    .addColumn('package', 'text', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('signatures', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('pending', 'offered', 'upgraded', 'failed')`),
    )
    .addColumn('offers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_offers', 'integer', (c) => c.notNull())
    .addColumn('from_package', 'text')
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('last_offered_at', 'bigint')
    .addColumn('upgraded_at', 'bigint')
    .addColumn('last_error', 'text')
    .execute();

  // SQLite only autoincrements a column typed exactly "integer primary key";
  // PostgreSQL gets a 64-bit identity so the history never runs out of ids.
  await db.schema
    .createTable('station_events')
    .$call((t) =>
      flavour === 'sqlite'
        ? t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        : t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity()),
    )
    .addColumn('eui', 'text', (c) => c.notNull().references('stations.eui').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('station_events_eui_id').on('station_events').columns(['eui', 'id desc']).execute();

  await db.schema
    .createTable('unknown_stations')
    .addColumn('eui', 'text', (c) => c.primaryKey())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('last_remote_address', 'text')
    .addColumn('last_request', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('unknown_stations_last_seen').on('unknown_stations').column('last_seen_at').execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('crc', 'bigint', (c) => c.primaryKey().check(sql`crc >= 0 and crc <= 4294967295`))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
