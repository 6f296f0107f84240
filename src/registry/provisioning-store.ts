import { sql, type Kysely } from 'kysely';
import { chunks } from './chunks.js';
import type { SqlFlavour } from './migrations.js';
import type { RegistryDatabase } from './db-schema.js';
import { eventColumns, millis } from './row-mapping.js';
import type { StationAuthMode } from './auth-types.js';
import type { ProvisionedStation, ProvisioningPlan, ProvisioningUpdate } from './provisioning-types.js';

type Db = Kysely<RegistryDatabase>;

/** Rows per multi-row INSERT: far below SQLite's 32,766 bound parameters at 5 columns a row. */
const INSERT_CHUNK = 1_000;

interface ProvisionedRow {
  eui: string;
  name: string | null;
  labels: string;
  cups_uri: string | null;
  tc_uri: string | null;
  mode: string | null;
  has_cert?: unknown;
  has_token?: unknown;
}

function toProvisioned(r: ProvisionedRow): ProvisionedStation {
  return {
    eui: r.eui,
    name: r.name,
    labels: JSON.parse(r.labels) as Record<string, string>,
    cupsUri: r.cups_uri,
    tcUri: r.tc_uri,
    authMode: (r.mode ?? 'none') as StationAuthMode,
    ...(r.has_cert === undefined ? {} : { cupsCredentials: { certificate: held(r.has_cert), token: held(r.has_token) } }),
  };
}

/** An EXISTS column: SQLite answers 0/1, PostgreSQL a boolean. */
function held(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 1n;
}

/** Provisioning fields of `euis` (those registered), or of one keyset page ordered by EUI. */
export async function selectProvisioned(
  db: Db,
  where: { readonly euis: readonly string[] } | { readonly after: string | null; readonly limit: number },
  flavour: SqlFlavour = 'sqlite',
  lock = false,
  credentials = false,
): Promise<ProvisionedStation[]> {
  if ('euis' in where && where.euis.length === 0) return [];
  if ('euis' in where && flavour === 'postgres') {
    // The keys as one array parameter, joined by primary key: an index lookup per key whatever the
    // planner believes about the tables (right after a bulk create their statistics say "empty", and
    // an IN list then became a nested loop over station_auth, seconds per batch at 10,000 stations).
    // Only PostgreSQL has row locks; the station row is what every credential or mode change locks first.
    const held = credentials
      ? sql`, exists (select 1 from station_certificates c where c.eui = s.eui and c.category = 'cups' and c.status = 'active') as has_cert,
        exists (select 1 from station_tokens t where t.eui = s.eui and t.category = 'cups' and t.status = 'active') as has_token`
      : sql``;
    const result = await sql<ProvisionedRow>`select s.eui, s.name, s.labels, s.cups_uri, s.tc_uri, a.mode ${held}
      from unnest(${[...where.euis]}::text[]) as k(eui)
      join stations s on s.eui = k.eui
      left join station_auth a on a.eui = k.eui
      order by s.eui ${lock ? sql`for update of s` : sql``}`.execute(db);
    return result.rows.map(toProvisioned);
  }
  let query = db
    .selectFrom('stations as s')
    .leftJoin('station_auth as a', 'a.eui', 's.eui')
    .select(['s.eui', 's.name', 's.labels', 's.cups_uri', 's.tc_uri', 'a.mode']);
  if ('euis' in where && credentials) {
    return (
      await query
        .select((eb) => [
          eb.exists(eb.selectFrom('station_certificates as c').select('c.eui').whereRef('c.eui', '=', 's.eui').where('c.category', '=', 'cups').where('c.status', '=', 'active')).as('has_cert'),
          eb.exists(eb.selectFrom('station_tokens as t').select('t.eui').whereRef('t.eui', '=', 's.eui').where('t.category', '=', 'cups').where('t.status', '=', 'active')).as('has_token'),
        ])
        .where('s.eui', 'in', where.euis)
        .orderBy('s.eui')
        .execute()
    ).map(toProvisioned);
  }
  if ('euis' in where) query = query.where('s.eui', 'in', where.euis).orderBy('s.eui');
  else {
    if (where.after !== null) query = query.where('s.eui', '>', where.after);
    query = query.orderBy('s.eui').limit(where.limit);
  }
  return (await query.execute()).map(toProvisioned);
}

/**
 * One import batch in `trx`: takes the write lock first (SQLite) and the rows'
 * locks (PostgreSQL), reads the batch's stations, lets `plan` decide, writes.
 * A failure anywhere rolls the whole batch back.
 */
export async function applyProvisioning<T>(
  trx: Db,
  flavour: SqlFlavour,
  euis: readonly string[],
  plan: ProvisioningPlan<T>,
  at: Date,
): Promise<T> {
  // A write before the read: SQLite then holds its write lock for the whole batch rather than
  // failing to upgrade a read lock later. Registered stations are no longer unknown, so it is due anyway.
  for (const part of chunks(euis, INSERT_CHUNK)) await trx.deleteFrom('unknown_stations').where('eui', 'in', part).execute();
  const current = new Map<string, ProvisionedStation>();
  for (const part of chunks(euis, INSERT_CHUNK)) {
    for (const s of await selectProvisioned(trx, { euis: part }, flavour, true, true)) current.set(s.eui, s);
  }
  const { write, result } = plan(current);
  const now = millis(at);
  for (const part of chunks(write.creates, INSERT_CHUNK / 10)) {
    await trx
      .insertInto('stations')
      .values(part.map((s) => ({ eui: s.eui, name: s.name, labels: JSON.stringify(s.labels), cups_uri: s.cupsUri, tc_uri: s.tcUri, created_at: now, updated_at: now })))
      .execute();
  }
  const labelRows = write.creates.flatMap((s) => Object.entries(s.labels).map(([key, value]) => ({ eui: s.eui, key, value })));
  for (const part of chunks(labelRows, INSERT_CHUNK)) await trx.insertInto('station_labels').values(part).execute();
  const modes = write.creates.filter((s) => s.authMode !== 'none').map((s) => ({ eui: s.eui, mode: s.authMode, updated_at: now }));
  for (const part of chunks(modes, INSERT_CHUNK)) await trx.insertInto('station_auth').values(part).execute();
  await applyUpdates(trx, flavour, current, write.updates, now);
  const events = write.events.map(({ eui, event }) => eventColumns(eui, event, at));
  for (const part of chunks(events, INSERT_CHUNK)) await trx.insertInto('station_events').values(part).execute();
  return result;
}

/**
 * The batch's updates in a few statements, whatever its size: the stations'
 * columns from one VALUES list (each changed station gets its whole provisioning
 * row, the stored values where the row left a field alone), the labels of those
 * whose labels changed replaced in one delete and one insert, auth modes in one
 * upsert, and the pending CUPS rotations they overrule cleared per mode.
 */
async function applyUpdates(
  trx: Db,
  flavour: SqlFlavour,
  current: ReadonlyMap<string, ProvisionedStation>,
  updates: readonly ProvisioningUpdate[],
  now: number,
): Promise<void> {
  const columns = updates
    .filter((u) => u.name !== undefined || u.labels !== undefined || u.cupsUri !== undefined || u.tcUri !== undefined)
    .map((u) => {
      const was = current.get(u.eui) as ProvisionedStation;
      return { eui: u.eui, name: u.name === undefined ? was.name : u.name, labels: JSON.stringify(u.labels ?? was.labels), cupsUri: u.cupsUri === undefined ? was.cupsUri : u.cupsUri, tcUri: u.tcUri === undefined ? was.tcUri : u.tcUri };
    });
  for (const part of chunks(columns, INSERT_CHUNK / 5)) {
    const values = sql.join(part.map((c) => sql`(${c.eui}, ${c.name}, ${c.labels}, ${c.cupsUri}, ${c.tcUri})`));
    // SQLite names a VALUES list's columns column1..columnN; PostgreSQL takes them from the alias.
    if (flavour === 'postgres') {
      await sql`update stations as s set name = v.name, labels = v.labels, cups_uri = v.cups_uri, tc_uri = v.tc_uri, updated_at = ${now}
        from (values ${values}) as v(eui, name, labels, cups_uri, tc_uri) where s.eui = v.eui`.execute(trx);
    } else {
      await sql`update stations set name = v.column2, labels = v.column3, cups_uri = v.column4, tc_uri = v.column5, updated_at = ${now}
        from (values ${values}) as v where stations.eui = v.column1`.execute(trx);
    }
  }
  const relabelled = updates.filter((u) => u.labels !== undefined);
  for (const part of chunks(relabelled.map((u) => u.eui), INSERT_CHUNK)) await trx.deleteFrom('station_labels').where('eui', 'in', part).execute();
  const labelRows = relabelled.flatMap((u) => Object.entries(u.labels ?? {}).map(([key, value]) => ({ eui: u.eui, key, value })));
  for (const part of chunks(labelRows, INSERT_CHUNK)) await trx.insertInto('station_labels').values(part).execute();

  const modes = updates.filter((u): u is ProvisioningUpdate & { authMode: StationAuthMode } => u.authMode !== undefined);
  for (const part of chunks(modes, INSERT_CHUNK)) {
    await trx
      .insertInto('station_auth')
      .values(part.map((u) => ({ eui: u.eui, mode: u.authMode, updated_at: now })))
      .onConflict((oc) => oc.column('eui').doUpdateSet((eb) => ({ mode: eb.ref('excluded.mode'), updated_at: eb.ref('excluded.updated_at') })))
      .execute();
  }
  // As `station auth --mode` does: the operator's mode wins over the one a pending CUPS rotation would switch to.
  for (const mode of new Set(modes.map((u) => u.authMode))) {
    for (const part of chunks(modes.filter((u) => u.authMode === mode).map((u) => u.eui), INSERT_CHUNK)) {
      await trx
        .updateTable('station_rotations')
        .set({ target_mode: null })
        .where('eui', 'in', part)
        .where('category', '=', 'cups')
        .where('target_mode', 'is not', null)
        .where('target_mode', '!=', mode)
        .execute();
    }
  }
}
