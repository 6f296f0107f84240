import { sql, type Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import type { EventRetention, FirmwareDelivery, Refusal } from './event-types.js';
import { eventColumns, millis, toFirmware } from './row-mapping.js';
import { BOUNDED_COALESCED, foldEvicted, type EvictedRow } from './refusal-fold.js';
import type { FirmwareTarget } from './types.js';

// The queries behind StationEventStore and the retention bounds; KyselyRegistry wraps each in its error translation.

type Db = Kysely<RegistryDatabase>;

/** The key that makes repeats of one refusal one row: its code and where it came from. */
export function refusalKey(refusal: Pick<Refusal, 'code' | 'source'>): string {
  return `refused:${refusal.code}:${refusal.source ?? '-'}`;
}

/**
 * One statement per refusal: insert the row or count the repeat. Only a new row
 * can grow the table, so only then are the station's refusal rows trimmed.
 */
export async function upsertRefusal(db: Db, eui: string, refusal: Refusal, at: Date, retention: EventRetention): Promise<boolean> {
  const when = millis(at);
  let row: { repeat_count: number } | undefined;
  try {
    row = await db
      .insertInto('station_events')
      .values({
        ...eventColumns(eui, { type: 'auth', message: refusal.message, detail: { code: refusal.code, remoteAddress: refusal.source, ...refusal.detail } }, at),
        repeat_count: 1,
        first_at: when,
        coalesce_key: refusalKey(refusal),
      })
      .onConflict((oc) =>
        oc
          .columns(['eui', 'coalesce_key'])
          .where('coalesce_key', 'is not', null)
          .doUpdateSet((eb) => ({
            at: eb.ref('excluded.at'),
            message: eb.ref('excluded.message'),
            detail: eb.ref('excluded.detail'),
            repeat_count: eb('station_events.repeat_count', '+', 1),
          })),
      )
      .returning('repeat_count')
      .executeTakeFirst();
  } catch (e) {
    // The station was removed (or never registered): nothing to count it against.
    if (isForeignKeyViolation(e)) return false;
    throw e;
  }
  if (row !== undefined && Number(row.repeat_count) === 1) await trimRefusals(db, eui, retention);
  return true;
}

/** Keeps a station's ordinary history within its bounds (count, then age); run after writing events. */
export async function trimStationEvents(db: Db, eui: string, retention: EventRetention, now: Date): Promise<void> {
  const oldestKept = await db
    .selectFrom('station_events')
    .select('id')
    .where('eui', '=', eui)
    .where('coalesce_key', 'is', null)
    .orderBy('id', 'desc')
    .offset(retention.perStation - 1)
    .limit(1)
    .executeTakeFirst();
  if (oldestKept !== undefined) {
    await db.deleteFrom('station_events').where('eui', '=', eui).where('coalesce_key', 'is', null).where('id', '<', oldestKept.id).execute();
  }
  await db.deleteFrom('station_events').where('eui', '=', eui).where('at', '<', now.getTime() - retention.maxAgeMs).execute();
}

/** Keeps a station's refusal rows within their bound; the counts of rows pushed out move to its "other sources" rows (refusal-fold.ts). */
async function trimRefusals(db: Db, eui: string, retention: EventRetention): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const keep = trx
      .selectFrom('station_events')
      .select('id')
      .where('eui', '=', eui)
      .where(BOUNDED_COALESCED)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(retention.refusalRowsPerStation);
    const evicted = await trx
      .deleteFrom('station_events')
      .where('eui', '=', eui)
      .where(BOUNDED_COALESCED)
      .where('id', 'not in', keep)
      .returning(['eui', 'coalesce_key', 'repeat_count', 'first_at', 'at'])
      .execute();
    await foldEvicted(trx, evicted);
  });
}

/** The retention bounds over every station at once (age, then count per station); rows deleted. */
export async function pruneAllEvents(db: Db, retention: EventRetention, now: Date): Promise<number> {
  const aged = await db.deleteFrom('station_events').where('at', '<', now.getTime() - retention.maxAgeMs).executeTakeFirst();
  let deleted = Number(aged.numDeletedRows);
  const history = await sql`
    delete from station_events where id in (
      select id from (
        select id, row_number() over (partition by eui order by id desc) as rn
        from station_events where coalesce_key is null
      ) ranked where rn > ${retention.perStation}
    )`.execute(db);
  deleted += Number(history.numAffectedRows ?? 0n);
  // Refusal rows over the bound fold into "other sources" rows, in one transaction with their delete.
  deleted += await db.transaction().execute(async (trx) => {
    const evicted = await sql<EvictedRow>`
      delete from station_events where id in (
        select id from (
          select id, row_number() over (partition by eui order by at desc, id desc) as rn
          from station_events where ${BOUNDED_COALESCED}
        ) ranked where rn > ${retention.refusalRowsPerStation}
      ) returning eui, coalesce_key, repeat_count, first_at, at`.execute(trx);
    await foldEvicted(trx, evicted.rows);
    return evicted.rows.length;
  });
  return deleted;
}

/** How a firmware download ended: the counted offer (if complete) and the events, in one transaction `trx`. */
export async function writeDelivery(trx: Db, eui: string, delivery: FirmwareDelivery, retention: EventRetention): Promise<FirmwareTarget | null> {
  let target = delivery.offered === undefined ? null : await countOffer(trx, eui, delivery.offered, delivery.at);
  if (delivery.broken !== undefined) target = await failBroken(trx, eui, delivery.broken);
  if (delivery.events.length > 0) {
    const exists = await trx.selectFrom('stations').select('eui').where('eui', '=', eui).executeTakeFirst();
    if (exists === undefined) return target;
    await trx
      .insertInto('station_events')
      .values(delivery.events.map((e) => eventColumns(eui, e, delivery.at)))
      .execute();
    await trimStationEvents(trx, eui, retention, delivery.at);
  }
  return target;
}

/** The target of a package whose stored bytes failed their check: failed, whatever its state but upgraded. */
async function failBroken(trx: Db, eui: string, broken: NonNullable<FirmwareDelivery['broken']>): Promise<FirmwareTarget | null> {
  const row = await trx
    .updateTable('firmware_targets')
    .set({ state: 'failed', last_error: broken.lastError })
    .where('eui', '=', eui)
    .where('package', '=', broken.package)
    .where('state', '!=', 'upgraded')
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? null : toFirmware(row);
}

/** One more offer of `pkg`; the state becomes offered only from pending or offered. */
async function countOffer(trx: Db, eui: string, pkg: string, at: Date): Promise<FirmwareTarget | null> {
  const row = await trx
    .updateTable('firmware_targets')
    .set((eb) => ({
      offers: eb('offers', '+', 1),
      last_offered_at: millis(at),
      state: eb.case().when('state', 'in', ['pending', 'offered']).then('offered').else(eb.ref('state')).end(),
    }))
    .where('eui', '=', eui)
    .where('package', '=', pkg)
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? null : toFirmware(row);
}

function isForeignKeyViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}
