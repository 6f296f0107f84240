import type { ColumnType, Kysely } from 'kysely';
import type { HealthRecord } from '../../core/health.js';
import { judgeGuard, type RevertGuard } from '../../core/station-revert.js';
import { insertAuditRow } from '../audit-row.js';
import type { RegistryDatabase } from '../db-schema.js';
import { eventColumns, num } from '../row-mapping.js';

type Int8 = ColumnType<number | string, number, number>;

/** station_reverts (0018_revert): the guard of a direct `station set --tc-uri … --revert-unhealthy`. */
export type RevertTables = {
  station_reverts: {
    eui: string;
    kind: string;
    from_value: string | null;
    to_value: string | null;
    created_by: string;
    created_at: Int8;
  };
};

type Db = Kysely<RegistryDatabase>;

/**
 * Leaves the guard of a TC URI change made with --revert-unhealthy, in the
 * change's transaction (after the station row was written, so it is locked):
 * `from` is what the station had (its desired TC URI, else the one it reports).
 */
export async function writeGuard(trx: Db, eui: string, guard: { readonly from: string; readonly to: string; readonly by: string }, at: Date): Promise<void> {
  const db = trx.withTables<RevertTables>();
  const columns = { kind: 'tcUri', from_value: guard.from, to_value: guard.to, created_by: guard.by, created_at: at.getTime() };
  await db.insertInto('station_reverts').values({ eui, ...columns }).onConflict((oc) => oc.column('eui').doUpdateSet(columns)).execute();
}

/** Drops a station's guard (its TC URI set again without --revert-unhealthy). */
export async function dropGuard(trx: Db, eui: string): Promise<void> {
  await trx.withTables<RevertTables>().deleteFrom('station_reverts').where('eui', '=', eui).execute();
}

/** What an exchange did with the station's guard. */
export type GuardOutcome = { readonly kind: 'reverted' | 'cleared'; readonly tcUri: string; readonly reason: string };

/** A guard as the exchange's locked read of the station returns it (guard columns joined, null without one). */
export function guardOf(eui: string, row: { readonly g_from: string | null; readonly g_to: string | null; readonly g_by: string | null; readonly g_at: number | string | null }): RevertGuard | undefined {
  if (row.g_from === null || row.g_to === null || row.g_at === null) return undefined;
  return { eui, from: row.g_from, to: row.g_to, createdBy: row.g_by ?? '', createdAt: new Date(num(row.g_at)) };
}

/**
 * Applies the station's guard (read with the station under the exchange's lock)
 * in the exchange's transaction `trx`, once the exchange's report and health are
 * written, judged on the station's desired TC URI and the one it reports now: puts the previous TC URI back (the
 * station gets it at its next exchange), or drops the guard. The guard row is
 * deleted first and only the replica that deleted it acts, so two replicas
 * answering the same station revert it once. Audited (actor `server`) and
 * recorded in the station's history in the same transaction.
 */
export async function applyGuard(
  trx: Db,
  eui: string,
  guard: RevertGuard,
  station: { readonly desiredTcUri: string | null; readonly reportedTcUri: string | null },
  health: HealthRecord,
  at: Date,
): Promise<GuardOutcome | undefined> {
  const verdict = judgeGuard(guard, station, health);
  if (verdict.kind === 'wait') return undefined;
  const gone = await trx.withTables<RevertTables>().deleteFrom('station_reverts').where('eui', '=', eui).where('created_at', '=', guard.createdAt.getTime()).executeTakeFirst();
  if (gone.numDeletedRows === 0n) return undefined;
  if (verdict.kind === 'revert') {
    await trx.updateTable('stations').set({ tc_uri: guard.from, updated_at: at.getTime() }).where('eui', '=', eui).where('tc_uri', '=', guard.to).execute();
  }
  const message = verdict.kind === 'revert'
    ? `desired TC URI set back to ${guard.from} (--revert-unhealthy of ${guard.createdBy}): ${verdict.reason}; the station gets it at its next exchange`
    : `revert guard of TC URI ${guard.to} cleared: ${verdict.reason}`;
  const detail = { revert: verdict.kind, from: guard.to, to: verdict.kind === 'revert' ? guard.from : guard.to, reason: verdict.reason, setBy: guard.createdBy, setAt: guard.createdAt.toISOString() };
  await trx.insertInto('station_events').values(eventColumns(eui, { type: 'config', message, detail }, at)).execute();
  await insertAuditRow(trx, {
    at,
    actor: 'server',
    actorKeyId: null,
    role: 'admin',
    via: 'server',
    remoteAddress: null,
    action: verdict.kind === 'revert' ? 'station.revert' : 'station.revert_cleared',
    target: eui,
    detail,
  });
  return { kind: verdict.kind === 'revert' ? 'reverted' : 'cleared', tcUri: verdict.kind === 'revert' ? guard.from : guard.to, reason: verdict.reason };
}
