import type { Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { toUnknown, unknownColumns, type UnknownSighting } from './row-mapping.js';
import { invalid } from '../core/errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { UnknownStation } from './types.js';
import { queueWebhookEvent } from './webhooks/outbox.js';

const CURSOR_TAG = 'unknown';

/**
 * Inserts the first knock or, in the same statement, counts another one. Only a
 * new EUI can grow the table, so only then is it trimmed to `max` rows, the
 * longest silent going first: random EUIs cannot grow the database.
 */
export async function upsertUnknown(
  db: Kysely<RegistryDatabase>,
  eui: string,
  seen: UnknownSighting,
  max: number,
): Promise<void> {
  const row = await db
    .insertInto('unknown_stations')
    .values(unknownColumns(eui, seen))
    .onConflict((oc) =>
      oc.column('eui').doUpdateSet((eb) => ({
        count: eb('unknown_stations.count', '+', 1),
        last_seen_at: eb.ref('excluded.last_seen_at'),
        last_remote_address: eb.ref('excluded.last_remote_address'),
        last_request: eb.ref('excluded.last_request'),
      })),
    )
    .returning('count')
    .executeTakeFirst();
  if (row !== undefined && Number(row.count) === 1) {
    await trimUnknown(db, max);
    await queueWebhookEvent(db, { type: 'station.unknown_first_seen', at: seen.at, data: { station: { eui }, remoteAddress: seen.remoteAddress } });
  }
}

/** Deletes every row after the first `max` by last contact (newest first, then EUI). */
async function trimUnknown(db: Kysely<RegistryDatabase>, max: number): Promise<void> {
  const edge = await db
    .selectFrom('unknown_stations')
    .select(['last_seen_at', 'eui'])
    .orderBy('last_seen_at', 'desc')
    .orderBy('eui')
    .offset(max)
    .limit(1)
    .executeTakeFirst();
  if (edge === undefined) return;
  await db
    .deleteFrom('unknown_stations')
    .where((eb) => eb.or([eb('last_seen_at', '<', edge.last_seen_at), eb.and([eb('last_seen_at', '=', edge.last_seen_at), eb('eui', '>=', edge.eui)])]))
    .execute();
}

/** A page of unregistered EUIs: most recent first, continuing after `cursor`. */
export async function selectUnknownPage(
  db: Kysely<RegistryDatabase>,
  query: { readonly limit: number; readonly cursor?: string | undefined },
): Promise<{ items: UnknownStation[]; nextCursor: string | null }> {
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor, 3, CURSOR_TAG);
  if (after !== null && (typeof after[1] !== 'number' || typeof after[2] !== 'string')) {
    throw invalid('invalid_cursor', 'cursor is not one this listing returned; start again without a cursor.', { field: 'cursor' });
  }
  const rows = await db
    .selectFrom('unknown_stations')
    .selectAll()
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('stations').select('stations.eui').whereRef('stations.eui', '=', 'unknown_stations.eui'))),
    )
    .$if(after !== null, (q) =>
      q.where((eb) => {
        const [, at, eui] = after as [string, number, string];
        return eb.or([eb('last_seen_at', '<', at), eb.and([eb('last_seen_at', '=', at), eb('eui', '>', eui)])]);
      }),
    )
    .orderBy('last_seen_at', 'desc')
    .orderBy('eui')
    .limit(query.limit + 1)
    .execute();
  const items = rows.slice(0, query.limit).map(toUnknown);
  const last = items.at(-1);
  const nextCursor = rows.length > query.limit && last !== undefined ? encodeCursor([CURSOR_TAG, last.lastSeenAt.getTime(), last.eui]) : null;
  return { items, nextCursor };
}

/** Unregistered EUIs, most recent first. */
export async function selectUnknown(db: Kysely<RegistryDatabase>): Promise<UnknownStation[]> {
  const rows = await db
    .selectFrom('unknown_stations')
    .selectAll()
    // createStation deletes the row, but a knock racing with the registration can
    // re-insert it; a registered station is never unknown.
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('stations').select('stations.eui').whereRef('stations.eui', '=', 'unknown_stations.eui'))),
    )
    .orderBy('last_seen_at', 'desc')
    .orderBy('eui')
    .execute();
  return rows.map(toUnknown);
}
