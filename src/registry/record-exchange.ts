import { sql, type Kysely, type Selectable } from 'kysely';
import { notFound } from '../core/errors.js';
import type { RegistryDatabase, StationsTable } from './db-schema.js';
import { applyFirmwareTransition, currentFirmware } from './firmware-transition.js';
import { sameReported } from '../core/reported.js';
import { eventColumns, millis, reportedColumns, toReported } from './row-mapping.js';
import type { ExchangeRecord, ExchangeResult } from './types.js';
import { decideHealth } from './health/record-health.js';
import type { SqlFlavour } from './migrations.js';
import { queueWebhookEvent } from './webhooks/outbox.js';
import { applyGuard, guardOf, type RevertTables } from './revert/station-revert.js';
import type { HealthRow, HealthTables } from './health/health-rows.js';

/**
 * Writes one answered exchange; `trx` must be a transaction. The station is
 * locked first (the row lock on PostgreSQL, the write lock on SQLite, taken by a
 * write before any read so it is never a read lock to upgrade), and read once
 * with its health record and its revert guard: the health is decided from the
 * previous exchange under that lock, the reported-state comparison sees the
 * latest committed state, and two concurrent exchanges cannot both claim the
 * same change. Then the last-seen stamp, the report if it changed, the events.
 */
export async function writeExchange(trx: Kysely<RegistryDatabase>, eui: string, record: ExchangeRecord, flavour: SqlFlavour): Promise<ExchangeResult> {
  const locked = await readLocked(trx, eui, flavour);
  if (locked === undefined) {
    throw notFound('station_not_found', `Station ${eui} is not registered; register it before recording exchanges.`, { eui });
  }
  const { station: row, health: healthRow, guard: guardRow } = locked;
  // Health is decided from the previous exchange, so before the stamp replaces it.
  const health = record.health === undefined ? undefined : await decideHealth(trx, eui, record.at, record.health, healthRow, row.last_seen_at);
  await trx
    .updateTable('stations')
    .set({
      last_seen_at: millis(record.at),
      last_remote_address: record.remoteAddress,
      ...(record.problem === undefined ? {} : { problem: record.problem }),
    })
    .where('eui', '=', eui)
    .execute();

  const reportedChanged = !sameReported(toReported(row), record.reported);
  if (reportedChanged) {
    await trx.updateTable('stations').set(reportedColumns(record.reported, record.at)).where('eui', '=', eui).execute();
  }

  if (record.events.length > 0) {
    await trx
      .insertInto('station_events')
      .values(record.events.map((e) => eventColumns(eui, e, record.at)))
      .execute();
  }

  // A TC URI set with --revert-unhealthy: looked at only when the report or the health moved
  // (the delivery shows in the report, a failure or recovery in the health), never on a steady poll.
  const revertGuard = guardOf(eui, guardRow);
  const guard = health !== undefined && revertGuard !== undefined && (reportedChanged || health.changed)
    ? await applyGuard(trx, eui, revertGuard, { desiredTcUri: row.tc_uri, reportedTcUri: record.reported.tcUri }, health.record, record.at)
    : undefined;

  const firmware =
    record.firmware === undefined
      ? await currentFirmware(trx, eui)
      : await applyFirmwareTransition(trx, eui, record.firmware, record.at, false);
  if (record.firmware?.state === 'failed' && firmware?.state === 'failed') {
    await queueWebhookEvent(trx, { type: 'firmware.upgrade_failed', at: record.at, data: { station: { eui }, package: firmware.package, error: firmware.lastError } });
  }
  return { reportedChanged, firmware, ...(health === undefined ? {} : { health }), ...(guard === undefined ? {} : { revert: guard }) };
}

type StationRow = Selectable<StationsTable>;

type LockedRead = {
  readonly station: StationRow;
  /** The health record, its `eui` null when the station has none yet. */
  readonly health: HealthRow | { readonly eui: null };
  readonly guard: { readonly g_from: string | null; readonly g_to: string | null; readonly g_by: string | null; readonly g_at: number | string | null };
};

/** Locks the station and reads it with its health record and revert guard in one statement; undefined when not registered. */
async function readLocked(trx: Kysely<RegistryDatabase>, eui: string, flavour: SqlFlavour): Promise<LockedRead | undefined> {
  if (flavour === 'sqlite') await trx.updateTable('stations').set({ last_seen_at: sql`last_seen_at` }).where('eui', '=', eui).execute();
  const row = await trx
    .withTables<HealthTables & RevertTables>()
    .selectFrom('stations as s')
    .leftJoin('station_health as h', 'h.eui', 's.eui')
    .leftJoin('station_reverts as g', 'g.eui', 's.eui')
    .selectAll('s')
    .select([
      'h.eui as h_eui', 'h.state as h_state', 'h.early_run as h_early_run', 'h.run_from as h_run_from', 'h.since as h_since', 'h.gap_ms as h_gap_ms',
      'h.interval_ms as h_interval_ms', 'h.candidate_ms as h_candidate_ms', 'h.calls_again as h_calls_again', 'h.changed_at as h_changed_at',
      'g.from_value as g_from', 'g.to_value as g_to', 'g.created_by as g_by', 'g.created_at as g_at',
    ])
    .where('s.eui', '=', eui)
    .$if(flavour === 'postgres', (q) => q.forUpdate('s'))
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const { h_eui, h_state, h_early_run, h_run_from, h_since, h_gap_ms, h_interval_ms, h_candidate_ms, h_calls_again, h_changed_at, g_from, g_to, g_by, g_at, ...station } = row;
  const health = h_eui === null
    ? { eui: null }
    : { eui: h_eui, state: h_state as string, early_run: h_early_run as number, run_from: h_run_from, since: h_since, gap_ms: h_gap_ms, interval_ms: h_interval_ms as number | string, candidate_ms: h_candidate_ms, calls_again: h_calls_again as number, changed_at: h_changed_at as number | string };
  return { station: station as StationRow, health, guard: { g_from, g_to, g_by, g_at } };
}
