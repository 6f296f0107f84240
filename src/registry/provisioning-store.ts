import type { Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';
import type { RegistryDatabase } from './db-schema.js';
import { eventColumns, millis } from './row-mapping.js';
import { writeLabelRows } from './station-labels.js';
import type { StationAuthMode } from './auth-types.js';
import type { ProvisionedStation, ProvisioningPlan, ProvisioningUpdate } from './provisioning-types.js';

type Db = Kysely<RegistryDatabase>;

/** Rows per multi-row INSERT: far below SQLite's 32,766 bound parameters at 5 columns a row. */
const INSERT_CHUNK = 1_000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Provisioning fields of `euis` (those registered), or of one keyset page ordered by EUI. */
export async function selectProvisioned(
  db: Db,
  where: { readonly euis: readonly string[] } | { readonly after: string | null; readonly limit: number },
  lock = false,
): Promise<ProvisionedStation[]> {
  if ('euis' in where && where.euis.length === 0) return [];
  let query = db
    .selectFrom('stations as s')
    .leftJoin('station_auth as a', 'a.eui', 's.eui')
    .select(['s.eui', 's.name', 's.labels', 's.cups_uri', 's.tc_uri', 'a.mode']);
  if ('euis' in where) query = query.where('s.eui', 'in', where.euis).orderBy('s.eui');
  else {
    if (where.after !== null) query = query.where('s.eui', '>', where.after);
    query = query.orderBy('s.eui').limit(where.limit);
  }
  // Only PostgreSQL has row locks. The station row is what every credential or mode change locks first.
  if (lock) query = query.forUpdate('s');
  const rows = await query.execute();
  return rows.map((r) => ({
    eui: r.eui,
    name: r.name,
    labels: JSON.parse(r.labels) as Record<string, string>,
    cupsUri: r.cups_uri,
    tcUri: r.tc_uri,
    authMode: (r.mode ?? 'none') as StationAuthMode,
  }));
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
    for (const s of await selectProvisioned(trx, { euis: part }, flavour === 'postgres')) current.set(s.eui, s);
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
  for (const update of write.updates) await updateOne(trx, update, now);
  const events = write.events.map(({ eui, event }) => eventColumns(eui, event, at));
  for (const part of chunks(events, INSERT_CHUNK)) await trx.insertInto('station_events').values(part).execute();
  return result;
}

async function updateOne(trx: Db, update: ProvisioningUpdate, now: number): Promise<void> {
  const { eui, name, labels, cupsUri, tcUri, authMode } = update;
  const columns = {
    ...(name === undefined ? {} : { name }),
    ...(labels === undefined ? {} : { labels: JSON.stringify(labels) }),
    ...(cupsUri === undefined ? {} : { cups_uri: cupsUri }),
    ...(tcUri === undefined ? {} : { tc_uri: tcUri }),
  };
  if (Object.keys(columns).length > 0) {
    await trx.updateTable('stations').set({ ...columns, updated_at: now }).where('eui', '=', eui).execute();
  }
  if (labels !== undefined) await writeLabelRows(trx, eui, labels);
  if (authMode !== undefined) {
    await trx
      .insertInto('station_auth')
      .values({ eui, mode: authMode, updated_at: now })
      .onConflict((oc) => oc.column('eui').doUpdateSet({ mode: authMode, updated_at: now }))
      .execute();
    // As `station auth --mode` does: the operator's mode wins over the one a pending CUPS rotation would switch to.
    await trx
      .updateTable('station_rotations')
      .set({ target_mode: null })
      .where('eui', '=', eui)
      .where('category', '=', 'cups')
      .where('target_mode', 'is not', null)
      .where('target_mode', '!=', authMode)
      .execute();
  }
}
