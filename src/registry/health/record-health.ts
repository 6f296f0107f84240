import { sql, type Kysely } from 'kysely';
import { healthStep, type HealthStep } from '../../core/health.js';
import { healthReason } from '../../core/health-reason.js';
import type { ExchangeHealth } from '../../core/model.js';
import type { RegistryDatabase } from '../db-schema.js';
import type { SqlFlavour } from '../migrations.js';
import { eventColumns } from '../row-mapping.js';
import { queueWebhookEvent } from '../webhooks/outbox.js';
import { healthColumns, toHealth, type HealthTables } from './health-rows.js';

/** What an exchange did to a station's health: the step, and the reason in words when the state changed. */
export type HealthOutcome = HealthStep & { readonly reason: string };

/**
 * Decides a station's health inside the exchange's transaction `trx`, before
 * the exchange stamps last-seen: the previous exchange is read under the lock
 * (the row lock on PostgreSQL, the write lock on SQLite, taken by a write
 * before the read so it is never a read lock to upgrade), so two replicas
 * answering the same station decide from the same history. Undefined when the
 * station is not registered (the stamp that follows says so).
 */
export async function decideHealth(trx: Kysely<RegistryDatabase>, flavour: SqlFlavour, eui: string, at: Date, input: ExchangeHealth): Promise<HealthOutcome | undefined> {
  const db = trx.withTables<HealthTables>();
  if (flavour === 'sqlite') await trx.updateTable('stations').set({ last_seen_at: sql`last_seen_at` }).where('eui', '=', eui).execute();
  const row = await db
    .selectFrom('stations as s')
    .leftJoin('station_health as h', 'h.eui', 's.eui')
    .select(['s.last_seen_at as seen'])
    .selectAll('h')
    .where('s.eui', '=', eui)
    .$if(flavour === 'postgres', (q) => q.forUpdate('s'))
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const previous = row.eui === null ? null : toHealth({ ...row, eui: row.eui } as Parameters<typeof toHealth>[0]);
  const stored = row.seen === null ? -1 : Number(row.seen);
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
