import type { Kysely } from 'kysely';
import { healthStep, type HealthStep } from '../../core/health.js';
import { healthReason } from '../../core/health-reason.js';
import type { ExchangeHealth } from '../../core/model.js';
import type { RegistryDatabase } from '../db-schema.js';
import { eventColumns } from '../row-mapping.js';
import { queueWebhookEvent } from '../webhooks/outbox.js';
import { healthColumns, toHealth, type HealthRow, type HealthTables } from './health-rows.js';

/** What an exchange did to a station's health: the step, and the reason in words when the state changed. */
export type HealthOutcome = HealthStep & { readonly reason: string };

/**
 * Decides a station's health inside the exchange's transaction `trx`, before
 * the exchange stamps last-seen, from what the exchange read of the station
 * under its lock (record-exchange.ts readLocked: the row lock on PostgreSQL, the
 * write lock on SQLite, taken by a write before the read so it is never a read
 * lock to upgrade): `seen` is the stored last-seen, `row` the health record (its
 * `eui` null when the station has none yet). So two replicas answering the same
 * station decide from the same history.
 */
export async function decideHealth(trx: Kysely<RegistryDatabase>, eui: string, at: Date, input: ExchangeHealth, row: HealthRow | { readonly eui: null }, seen: number | string | null): Promise<HealthOutcome> {
  const db = trx.withTables<HealthTables>();
  const previous = row.eui === null ? null : toHealth(row as HealthRow);
  const stored = seen === null ? -1 : Number(seen);
  // This process may hold a newer stamp of its own not yet written (the last-seen batch).
  const hint = input.previousSeenAt?.getTime() ?? -1;
  const previousMs = Math.max(stored, hint);
  const step = healthStep(previous, previousMs < 0 ? null : new Date(previousMs), at, input.callsAgain, input.thresholds, input.hasTc);
  const reason = healthReason(step.record.state, step.record, previousMs < 0 ? null : new Date(previousMs), at, input.hasTc);
  if (step.dirty) {
    const columns = healthColumns(step.record, at);
    await db
      .insertInto('station_health')
      .values({ eui, ...columns })
      .onConflict((oc) => oc.column('eui').doUpdateSet(columns))
      .execute();
  }
  if (step.changed) {
    const detail = { kind: 'health_changed', eui, from: step.from, to: step.record.state, reason, at: at.toISOString() };
    await trx.insertInto('station_events').values(eventColumns(eui, { type: 'health', message: `health ${step.from} → ${step.record.state}: ${reason}`, detail }, at)).execute();
    await queueWebhookEvent(trx, { type: 'station.health_changed', at, data: { station: { eui }, from: step.from, to: step.record.state, reason } });
  }
  return { ...step, reason };
}
