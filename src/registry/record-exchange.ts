import type { Kysely } from 'kysely';
import { notFound } from '../core/errors.js';
import type { RegistryDatabase } from './db-schema.js';
import { applyFirmwareTransition, currentFirmware } from './firmware-transition.js';
import { sameReported } from '../core/reported.js';
import { eventColumns, millis, reportedColumns, toReported } from './row-mapping.js';
import type { ExchangeRecord, ExchangeResult } from './types.js';
import { decideHealth } from './health/record-health.js';
import type { SqlFlavour } from './migrations.js';
import { queueWebhookEvent } from './webhooks/outbox.js';
import { applyGuard } from './revert/station-revert.js';

/**
 * Writes one answered exchange; `trx` must be a transaction. The last-seen stamp
 * comes first: it is the cheap write every exchange needs, it tells whether the
 * station exists, and it takes the row lock (PostgreSQL) or the write lock (SQLite)
 * so the reported-state comparison that follows sees the latest committed state
 * and two concurrent exchanges cannot both claim the same change.
 */
export async function writeExchange(trx: Kysely<RegistryDatabase>, eui: string, record: ExchangeRecord, flavour: SqlFlavour): Promise<ExchangeResult> {
  // Health is decided from the previous exchange, so before the stamp replaces it.
  const health = record.health === undefined ? undefined : await decideHealth(trx, flavour, eui, record.at, record.health);
  const stamped = await trx
    .updateTable('stations')
    .set({
      last_seen_at: millis(record.at),
      last_remote_address: record.remoteAddress,
      ...(record.problem === undefined ? {} : { problem: record.problem }),
    })
    .where('eui', '=', eui)
    .executeTakeFirst();
  if (stamped.numUpdatedRows === 0n) {
    throw notFound('station_not_found', `Station ${eui} is not registered; register it before recording exchanges.`, { eui });
  }

  const row = await trx.selectFrom('stations').selectAll().where('eui', '=', eui).executeTakeFirstOrThrow();
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
  const guard = health !== undefined && (reportedChanged || health.changed) ? await applyGuard(trx, eui, health.record, record.at) : undefined;

  const firmware =
    record.firmware === undefined
      ? await currentFirmware(trx, eui)
      : await applyFirmwareTransition(trx, eui, record.firmware, record.at, false);
  if (record.firmware?.state === 'failed' && firmware?.state === 'failed') {
    await queueWebhookEvent(trx, { type: 'firmware.upgrade_failed', at: record.at, data: { station: { eui }, package: firmware.package, error: firmware.lastError } });
  }
  return { reportedChanged, firmware, ...(health === undefined ? {} : { health }), ...(guard === undefined ? {} : { revert: guard }) };
}
