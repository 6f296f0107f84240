import type { ColumnType, Selectable } from 'kysely';

/** The events a webhook can subscribe to (`--events`), `test` aside (only `webhook test` queues it). */
export const WEBHOOK_EVENTS = [
  'rollout.halted',
  'rollout.completed',
  'rollout.rolled_back',
  'rollout.waiting_for_approval',
  'station.health_changed',
  'firmware.upgrade_failed',
  'token.compromised',
  'station.unknown_first_seen',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number] | 'test';

export type WebhookFormat = 'json' | 'slack';
export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'dead';

/** What an event tells a webhook: the objects concerned, never a secret. */
export interface WebhookEvent {
  readonly type: WebhookEventType;
  readonly at: Date;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A webhook as operators see it: the secret only as whether one is set. */
export interface Webhook {
  readonly id: string;
  readonly url: string;
  /** The subscribed events, or 'all'. */
  readonly events: readonly string[] | 'all';
  readonly secret: 'set' | null;
  readonly format: WebhookFormat;
  readonly enabled: boolean;
  readonly consecutiveFailures: number;
  readonly createdAt: Date;
}

export interface NewWebhook {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[] | 'all';
  readonly secret: string | null;
  readonly format: WebhookFormat;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempts: number;
  readonly state: DeliveryState;
  readonly nextAttemptAt: Date;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly deliveredAt: Date | null;
}

type Int8 = ColumnType<number | string, number, number>;
type Int8Null = ColumnType<number | string | null, number | null, number | null>;

export interface WebhooksTable {
  id: string;
  url: string;
  events: string;
  secret: string | null;
  format: string;
  enabled: number;
  consecutive_failures: ColumnType<number, number | undefined, number>;
  created_at: Int8;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Int8;
  state: string;
  claim: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Int8;
  delivered_at: Int8Null;
}

// A type alias, not an interface: Kysely's withTables wants a record type.
export type WebhookTables = {
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
};

const n = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

export function toWebhook(row: Selectable<WebhooksTable>): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: row.events === '*' ? 'all' : (JSON.parse(row.events) as string[]),
    secret: row.secret === null ? null : 'set',
    format: row.format as WebhookFormat,
    enabled: row.enabled === 1,
    consecutiveFailures: row.consecutive_failures,
    createdAt: new Date(n(row.created_at)),
  };
}

export function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempts: row.attempts,
    state: row.state as DeliveryState,
    nextAttemptAt: new Date(n(row.next_attempt_at)),
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: new Date(n(row.created_at)),
    deliveredAt: row.delivered_at === null ? null : new Date(n(row.delivered_at)),
  };
}
