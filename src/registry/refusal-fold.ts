import { sql, type Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { eventColumns, millis } from './row-mapping.js';

// A station keeps a bounded number of refusal rows (one per reason and source),
// but a row pushed out by newer sources must not take its count with it: a
// stranger probing from 250 addresses would otherwise erase the record of 1,000
// earlier refusals. Evicted rows are folded into one row per reason, "other
// sources", which is never evicted itself (there are only as many as reasons),
// so the counts per reason, and the station's total, stay exact.

type Db = Kysely<RegistryDatabase>;

/** The source part of an "other sources" row's key: no address looks like it. */
const OTHER = '*';

/** The key of a station's "other sources" row for one refusal code. */
export function otherSourcesKey(code: string): string {
  return `refused:${code}:${OTHER}`;
}

/** A condition matching coalesced rows that count toward the bound: every coalesced row but the folded ones. */
export const BOUNDED_COALESCED = sql<boolean>`coalesce_key is not null and coalesce_key not like ${'refused:%:' + OTHER}`;

/** A deleted coalesced row, as DELETE … RETURNING gives it back. */
export interface EvictedRow {
  readonly eui: string;
  readonly coalesce_key: string | null;
  readonly repeat_count: number | string | bigint;
  readonly first_at: number | string | bigint | null;
  readonly at: number | string | bigint;
}

/** The refusal code in a key `refused:<code>:<source>` (sources may hold ':', codes do not). */
function codeOf(key: string | null): string | null {
  if (key === null || !key.startsWith('refused:')) return null;
  const end = key.indexOf(':', 'refused:'.length);
  return end < 0 ? null : key.slice('refused:'.length, end);
}

/**
 * Adds the counts of rows just deleted (in the same transaction `trx`) to their
 * station's "other sources" row per code, created on the first fold. Deleting
 * with RETURNING first means two concurrent trims cannot both fold one row: the
 * second's delete finds it gone.
 */
export async function foldEvicted(trx: Db, evicted: readonly EvictedRow[]): Promise<void> {
  const groups = new Map<string, { eui: string; code: string; count: number; first: number; last: number }>();
  for (const row of evicted) {
    const code = codeOf(row.coalesce_key);
    if (code === null) continue;
    const key = `${row.eui}\n${code}`;
    const first = Number(row.first_at ?? row.at);
    const last = Number(row.at);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { eui: row.eui, code, count: Number(row.repeat_count), first, last });
    else {
      g.count += Number(row.repeat_count);
      g.first = Math.min(g.first, first);
      g.last = Math.max(g.last, last);
    }
  }
  for (const g of groups.values()) {
    const message = `refused (${g.code}) from other sources: their own rows were replaced by newer sources, their counts kept here`;
    await trx
      .insertInto('station_events')
      .values({
        ...eventColumns(g.eui, { type: 'auth', message, detail: { code: g.code, remoteAddress: null, otherSources: true } }, new Date(g.last)),
        repeat_count: g.count,
        first_at: millis(new Date(g.first)),
        coalesce_key: otherSourcesKey(g.code),
      })
      .onConflict((oc) =>
        oc
          .columns(['eui', 'coalesce_key'])
          .where('coalesce_key', 'is not', null)
          .doUpdateSet((eb) => ({
            repeat_count: eb('station_events.repeat_count', '+', eb.ref('excluded.repeat_count')),
            first_at: sql<number>`case when excluded.first_at < coalesce(station_events.first_at, station_events.at) then excluded.first_at else coalesce(station_events.first_at, station_events.at) end`,
            at: sql<number>`case when excluded.at > station_events.at then excluded.at else station_events.at end`,
          })),
      )
      .execute();
  }
}
