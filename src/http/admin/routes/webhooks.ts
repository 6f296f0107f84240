import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CupsError } from '../../../core/errors.js';
import { addWebhook, deliveryJson, listDeliveries, listWebhooks, removeWebhook, testWebhook, webhookJson, type WebhookContext } from '../../../operations/webhooks.js';
import type { KyselyWebhookStore } from '../../../registry/webhooks/webhook-store.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { IdParams } from '../schemas.js';
import { DeliveryQuery, Webhook, WebhookCreate, WebhookDelivery, WebhookTestQueued } from '../webhook-schemas.js';

const tags = ['webhooks'];

/** The webhook routes (admin); `webhooks` is the server's store. */
export function registerWebhookRoutes(app: FastifyInstance, deps: AdminDeps, webhooks: KyselyWebhookStore | undefined): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = (req: FastifyRequest): WebhookContext => {
    if (webhooks === undefined) throw new CupsError('not_supported', 'unavailable', 'this server was started without the webhook store');
    return { ...contextOf(req, deps), webhooks };
  };

  api.get('/webhooks', { schema: { tags, summary: 'Webhooks; a secret shows as "set", never itself', response: { 200: z.array(Webhook), ...errorResponses } } }, async (req) =>
    (await listWebhooks(ctx(req))).map(webhookJson),
  );
  api.post('/webhooks', { schema: { tags, summary: 'Add a webhook (http/https URLs only)', body: WebhookCreate, response: { 201: Webhook, ...errorResponses } } }, async (req, reply) =>
    reply.status(201).send(webhookJson(await addWebhook(ctx(req), req.body))),
  );
  api.delete('/webhooks/:id', { schema: { tags, summary: 'Remove a webhook and its deliveries', params: IdParams, response: { 200: Webhook, ...errorResponses } } }, async (req) =>
    webhookJson(await removeWebhook(ctx(req), req.params.id)),
  );
  api.post('/webhooks/:id/test', { schema: { tags, summary: 'Queue a test event for one webhook', params: IdParams, response: { 200: WebhookTestQueued, ...errorResponses } } }, async (req) =>
    testWebhook(ctx(req), req.params.id),
  );
  api.get('/webhook-deliveries', { schema: { tags, summary: 'Webhook deliveries, most recent first', querystring: DeliveryQuery, response: { 200: z.array(WebhookDelivery), ...errorResponses } } }, async (req) =>
    (await listDeliveries(ctx(req), req.query)).map(deliveryJson),
  );
}
