import { z } from 'zod';

export const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.union([z.literal('all'), z.array(z.string())]),
    secret: z.literal('set').nullable().describe('"set" when deliveries are signed; the secret itself is never returned'),
    format: z.enum(['json', 'slack']),
    enabled: z.boolean(),
    consecutiveFailures: z.number().int(),
    createdAt: z.string(),
  })
  .meta({ id: 'Webhook' });

export const WebhookCreate = z
  .object({
    url: z.string().describe('http:// or https:// only'),
    events: z.string().describe('"all" or a comma-separated list of event types'),
    secret: z.string().optional().describe('HMAC-SHA256 key of the X-Bscups-Signature header'),
    format: z.enum(['json', 'slack']).optional(),
  })
  .meta({ id: 'WebhookCreate' });

export const WebhookDelivery = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    attempts: z.number().int(),
    state: z.enum(['pending', 'delivered', 'failed', 'dead']),
    nextAttemptAt: z.string(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export const WebhookTestQueued = z.object({ queued: z.literal(true), webhook: z.string() }).meta({ id: 'WebhookTestQueued' });

export const DeliveryQuery = z.object({
  webhook: z.string().optional(),
  failed: z.stringbool().optional(),
  limit: z.coerce.number().int().optional(),
});
