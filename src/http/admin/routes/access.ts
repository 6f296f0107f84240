import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey } from '../../../operations/api-keys.js';
import { listAudit } from '../../../operations/audit.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { ApiKey, ApiKeyCreate, ApiKeyCreated, AuditEntry, AuditQuery, IdParams, pageOf } from '../schemas.js';
import { apiKeyJson, auditJson } from '../views.js';

export function registerAccessRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/api-keys', {
    schema: { tags: ['access'], summary: 'API keys, never their secrets', response: { 200: z.array(ApiKey), ...errorResponses } },
  }, async (req) => (await listApiKeys(contextOf(req, deps))).map(apiKeyJson));

  api.post('/api-keys', {
    schema: { tags: ['access'], summary: 'Create an API key; the answer holds the key, shown once', body: ApiKeyCreate, response: { 201: ApiKeyCreated, ...errorResponses } },
  }, async (req, reply) => {
    const created = await createApiKey(contextOf(req, deps), req.body);
    return reply.status(201).send({ key: apiKeyJson(created.key), secret: created.secret });
  });

  api.delete('/api-keys/:id', {
    schema: { tags: ['access'], summary: 'Revoke an API key', params: IdParams, response: { 200: ApiKey, ...errorResponses } },
  }, async (req) => apiKeyJson(await revokeApiKey(contextOf(req, deps), req.params.id)));

  api.get('/audit', {
    schema: { tags: ['access'], summary: 'The audit log: who changed what, when, from where; most recent first', querystring: AuditQuery, response: { 200: pageOf(AuditEntry, 'AuditPage'), ...errorResponses } },
  }, async (req) => {
    const page = await listAudit(contextOf(req, deps), req.query);
    return { items: page.items.map(auditJson), nextCursor: page.nextCursor };
  });
}
