/**
 * The events a webhook can subscribe to (`--events`), `test` aside (only
 * `webhook test` queues it). Pure: the CLI, the API and the dashboard's form
 * offer the same list.
 */
export const WEBHOOK_EVENTS = [
  'rollout.scheduled',
  'rollout.halted',
  'rollout.completed',
  'rollout.rolled_back',
  'rollout.waiting_for_approval',
  'station.health_changed',
  'firmware.upgrade_failed',
  'token.compromised',
  'certificate.expiring',
  'station.unknown_first_seen',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number] | 'test';
