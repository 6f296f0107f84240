import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { RegistryDatabase } from '../db-schema.js';
import type { WebhookEvent, WebhookTables } from './webhook-types.js';

/**
 * Whether any webhook may be enabled: while false, an event writes no outbox
 * row and costs no query. It starts true (a process that has not looked yet
 * must not lose an event); the delivery worker of `serve` sets it from the
 * table on each pass and adding a webhook sets it at once, so a server with no
 * webhook pays nothing on its writing exchanges. A webhook added through
 * another replica reaches this one within a worker pass.
 */
let anyEnabled = true;

export function setWebhooksEnabled(any: boolean): void {
  anyEnabled = any;
}

/** The envelope every delivery carries: what the receiver is told, never a secret. */
export function eventPayload(id: string, event: WebhookEvent): string {
  return JSON.stringify({ id, type: event.type, time: event.at.toISOString(), data: event.data });
}

/**
 * Queues `events` for every enabled webhook subscribed to them, on `trx`: the
 * transaction that writes the events themselves, so both commit or neither.
 */
export async function queueWebhookEvents<DB extends RegistryDatabase>(trx: Kysely<DB>, events: readonly WebhookEvent[], only?: string): Promise<void> {
  if (!anyEnabled || events.length === 0) return;
  // Stores with more tables (rollouts) are a wider view of the same database.
  const db = (trx as unknown as Kysely<RegistryDatabase>).withTables<WebhookTables>();
  const hooks = await db
    .selectFrom('webhooks')
    .select(['id', 'events'])
    .where('enabled', '=', 1)
    .$if(only !== undefined, (q) => q.where('id', '=', only as string))
    .execute();
  if (hooks.length === 0) return;
  const rows = [];
  for (const event of events) {
    const eventId = randomUUID();
    const payload = eventPayload(eventId, event);
    const at = event.at.getTime();
    for (const hook of hooks) {
      if (only === undefined && !subscribed(hook.events, event.type)) continue;
      rows.push({ id: randomUUID(), webhook_id: hook.id, event_id: eventId, event_type: event.type, payload, next_attempt_at: at, state: 'pending', created_at: at });
    }
  }
  if (rows.length > 0) await db.insertInto('webhook_deliveries').values(rows).execute();
}

function subscribed(events: string, type: string): boolean {
  if (events === '*') return true;
  return (JSON.parse(events) as string[]).includes(type);
}

/** Queues one event on `trx`; see queueWebhookEvents. */
export function queueWebhookEvent<DB extends RegistryDatabase>(trx: Kysely<DB>, event: WebhookEvent): Promise<void> {
  return queueWebhookEvents(trx, [event]);
}
