import { randomBytes } from 'node:crypto';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { KyselyWebhookStore } from '../registry/webhooks/webhook-store.js';
import { WEBHOOK_EVENTS, type Webhook, type WebhookDelivery, type WebhookFormat } from '../registry/webhooks/webhook-types.js';
import { audited, authorize, type OperationContext } from './context.js';

/** What webhook operations work on: the operation context and the webhook store. */
export type WebhookContext = OperationContext & { readonly webhooks: KyselyWebhookStore };

export interface NewWebhookInput {
  readonly url: string;
  /** Event types separated by commas, or `all`. */
  readonly events: string;
  readonly secret?: string | undefined;
  readonly format?: string | undefined;
}

/** Only http and https receivers: a webhook POSTs over HTTP, and a file: or other URL must never be fetched. */
function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('invalid_url', `url must be an http:// or https:// URL, got "${text}"`, { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('invalid_url', `url must be an http:// or https:// URL (only those are supported), got "${url.protocol}"`, { field: 'url' });
  }
  if (url.username !== '' || url.password !== '') throw invalid('invalid_url', 'url must not carry a user or password: set --secret to sign deliveries instead', { field: 'url' });
  return url.toString();
}

function checkEvents(text: string): readonly string[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const list = [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  if (list.length === 0) throw invalid('invalid_events', `events must be "all" or a comma-separated list of: ${WEBHOOK_EVENTS.join(', ')}`, { field: 'events' });
  const unknown = list.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0) throw invalid('invalid_events', `unknown event ${unknown.join(', ')}; events are "all" or any of: ${WEBHOOK_EVENTS.join(', ')}`, { field: 'events' });
  return list;
}

export async function addWebhook(ctx: WebhookContext, input: NewWebhookInput): Promise<Webhook> {
  authorize(ctx, 'admin', 'adding a webhook');
  const url = checkUrl(input.url);
  const events = checkEvents(input.events);
  const format = input.format ?? 'json';
  if (format !== 'json' && format !== 'slack') throw invalid('invalid_format', `format must be json or slack, got "${format}"`, { field: 'format' });
  const secret = input.secret === undefined || input.secret === '' ? null : input.secret;
  if (secret !== null && secret.length > 1000) throw invalid('invalid_secret', 'secret must be at most 1000 characters', { field: 'secret' });
  const id = randomBytes(6).toString('hex');
  // The audit row says whether a secret is set, never the secret.
  return ctx.webhooks.addWebhook({ id, url, events, secret, format: format as WebhookFormat }, ctx.clock(), audited(ctx, 'webhook.add', id, { url, events, format, secret: secret === null ? null : 'set' }));
}

export async function listWebhooks(ctx: WebhookContext): Promise<Webhook[]> {
  authorize(ctx, 'admin', 'listing webhooks');
  return ctx.webhooks.listWebhooks();
}

export async function removeWebhook(ctx: WebhookContext, id: string): Promise<Webhook> {
  authorize(ctx, 'admin', 'removing a webhook');
  const hook = await ctx.webhooks.getWebhook(id);
  if (hook === null) throw notFound('webhook_not_found', `no webhook ${id}; "bscups webhook list" shows them`, { id });
  const removed = await ctx.webhooks.removeWebhook(id, audited(ctx, 'webhook.remove', id, { url: hook.url }));
  if (!removed) throw notFound('webhook_not_found', `no webhook ${id}; "bscups webhook list" shows them`, { id });
  return hook;
}

/** Queues a `test` event for one enabled webhook, delivered by the server's worker like any other. */
export async function testWebhook(ctx: WebhookContext, id: string): Promise<{ queued: true; webhook: string }> {
  authorize(ctx, 'admin', 'testing a webhook');
  const hook = await ctx.webhooks.getWebhook(id);
  if (hook === null) throw notFound('webhook_not_found', `no webhook ${id}; "bscups webhook list" shows them`, { id });
  if (!hook.enabled) {
    throw conflict('webhook_disabled', `webhook ${id} was disabled after ${hook.consecutiveFailures} failed deliveries in a row; fix the receiver, then remove it and add it again`, { id });
  }
  const at = ctx.clock();
  await ctx.webhooks.queueFor(id, { type: 'test', at, data: { webhook: { id, url: hook.url }, by: ctx.actor.name } }, audited(ctx, 'webhook.test', id));
  return { queued: true, webhook: id };
}

export async function listDeliveries(ctx: WebhookContext, query: { readonly webhook?: string | undefined; readonly failed?: boolean | undefined; readonly limit?: number | undefined }): Promise<WebhookDelivery[]> {
  authorize(ctx, 'admin', 'listing webhook deliveries');
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('invalid_limit', `limit must be an integer from 1 to 1000, got ${String(limit)}`, { field: 'limit' });
  return ctx.webhooks.listDeliveries({ webhookId: query.webhook, failed: query.failed, limit });
}

export function webhookJson(w: Webhook) {
  return { ...w, events: w.events === 'all' ? ('all' as const) : [...w.events], createdAt: w.createdAt.toISOString() };
}

export function deliveryJson(d: WebhookDelivery) {
  return { ...d, nextAttemptAt: d.nextAttemptAt.toISOString(), createdAt: d.createdAt.toISOString(), deliveredAt: d.deliveredAt?.toISOString() ?? null };
}
