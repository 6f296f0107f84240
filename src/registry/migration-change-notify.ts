import { sql, type Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';

/**
 * 0004_change_notify: every committed change to what the in-memory registry
 * cache holds (the station twin and its authentication) is announced, by
 * triggers so that no writer can forget it: the server, the CLI, another
 * replica, a future store. PostgreSQL sends `pg_notify(CHANGE_CHANNEL, …)`,
 * delivered at commit; SQLite, which has no notifications, appends to
 * `registry_changes`, which other processes read when `PRAGMA data_version`
 * moves.
 *
 * The payload (or row) names the station and what changed: `s` the twin
 * (stations, firmware_targets), `a` its authentication (station_auth,
 * certificates, tokens, rotations), `b` both (a station added or removed).
 * Last-seen stamps are left out on purpose: they change on every poll and
 * nothing the cache answers depends on them; announcing them would empty the
 * cache as fast as stations poll. A later migration that adds a column to
 * `stations` must recreate the `stations` update trigger with it.
 */
export const CHANGE_CHANNEL = 'bscups_registry_changes';

/** The columns of `stations` whose change is announced: all but last_seen_at and last_remote_address. */
const STATION_COLUMNS = [
  'eui', 'name', 'labels', 'cups_uri', 'tc_uri', 'cups_cred_blob', 'cups_cred_crc', 'cups_cred_size',
  'tc_cred_blob', 'tc_cred_crc', 'tc_cred_size', 'reported_cups_uri', 'reported_tc_uri',
  'reported_cups_cred_crc', 'reported_tc_cred_crc', 'reported_station', 'reported_model',
  'reported_package', 'reported_keys', 'reported_at', 'problem', 'created_at', 'updated_at',
];

/** Tables other than `stations` whose every row change is announced, with the kind of change. */
const WATCHED: readonly (readonly [table: string, kind: 's' | 'a'])[] = [
  ['firmware_targets', 's'],
  ['station_auth', 'a'],
  ['station_certificates', 'a'],
  ['station_tokens', 'a'],
  ['station_rotations', 'a'],
];

export async function changeNotify(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  if (flavour === 'postgres') await postgresTriggers(db);
  else await sqliteTriggers(db);
}

async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  // TG_ARGV carries the kind; the schema goes into the payload because one
  // database may hold several registries (one per schema) on the same channel.
  await sql`
    create function bscups_announce_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify(${sql.lit(CHANGE_CHANNEL)},
        tg_table_schema || ' ' || tg_argv[0] || ' ' || (case when tg_op = 'DELETE' then old.eui else new.eui end));
      return null;
    end $$`.execute(db);
  const station = sql.raw(STATION_COLUMNS.join(', '));
  await sql`create trigger stations_announce_rows after insert or delete on stations for each row execute function bscups_announce_change('b')`.execute(db);
  await sql`create trigger stations_announce_update after update of ${station} on stations for each row execute function bscups_announce_change('s')`.execute(db);
  for (const [table, kind] of WATCHED) {
    await sql`create trigger ${sql.id(`${table}_announce`)} after insert or update or delete on ${sql.id(table)} for each row execute function bscups_announce_change(${sql.lit(kind)})`.execute(db);
  }
}

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  await sql`create table registry_changes (seq integer primary key autoincrement, eui text not null, kind text not null)`.execute(db);
  const log = (kind: string, row: 'new' | 'old') =>
    sql.raw(`begin insert into registry_changes (eui, kind) values (${row}.eui, '${kind}'); end`);
  const station = sql.raw(STATION_COLUMNS.join(', '));
  await sql`create trigger stations_announce_insert after insert on stations ${log('b', 'new')}`.execute(db);
  await sql`create trigger stations_announce_delete after delete on stations ${log('b', 'old')}`.execute(db);
  await sql`create trigger stations_announce_update after update of ${station} on stations ${log('s', 'new')}`.execute(db);
  for (const [table, kind] of WATCHED) {
    await sql`create trigger ${sql.id(`${table}_announce_insert`)} after insert on ${sql.id(table)} ${log(kind, 'new')}`.execute(db);
    await sql`create trigger ${sql.id(`${table}_announce_update`)} after update on ${sql.id(table)} ${log(kind, 'new')}`.execute(db);
    await sql`create trigger ${sql.id(`${table}_announce_delete`)} after delete on ${sql.id(table)} ${log(kind, 'old')}`.execute(db);
  }
}
