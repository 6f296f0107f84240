import { DEFAULT_HEALTH } from '../../../core/health.js';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { parseDuration } from '../../../core/duration.js';
import { DEFAULT_SILENT_AFTER } from '../../../operations/fleet.js';
import { registerFleetGauges } from '../../fleet-metrics.js';
import { registerRolloutGauges } from '../../rollout-metrics.js';
import { registerCertificateGauges } from '../../certificate-metrics.js';
import { certificateLifetimes } from '../../../operations/certificate-lifetimes.js';
import { serverCertificateFiles } from './fleet.js';
import type { AdminDeps } from '../app.js';
import { errorResponses } from '../responses.js';

/**
 * The fleet's Prometheus gauges (stations by state, package and model, upgrades
 * by state, active rollouts) at GET /metrics of the admin listener, for a key
 * with the viewer role (Prometheus sends it with `authorization: { credentials_file }`).
 * They describe every station, so they are not on the station port, which anyone
 * on the gateways' network reaches; that one keeps this process's own metrics.
 */
export function registerFleetMetricsRoute(app: FastifyInstance, deps: AdminDeps): void {
  const registry = new Registry();
  const silentMs = parseDuration(DEFAULT_SILENT_AFTER, 'silentAfter');
  const health = deps.health ?? DEFAULT_HEALTH;
  registerFleetGauges(registry, () => {
    const now = deps.clock();
    return deps.fleet.summarizeFleet({ silentSince: new Date(now.getTime() - silentMs), health: { now, intervalMs: health.intervalMs, graceMs: health.graceMs } });
  });
  registerRolloutGauges(registry, deps.rollouts);
  registerCertificateGauges(registry, () => certificateLifetimes(deps, serverCertificateFiles(deps)));
  app.withTypeProvider<ZodTypeProvider>().get('/metrics', {
    schema: {
      tags: ['fleet'],
      summary: 'Fleet gauges for Prometheus (text exposition format): stations by sync state, package and model, upgrades by state, active rollouts; cached 5 s',
      produces: [registry.contentType],
      response: { 200: z.string().describe('Prometheus text exposition format'), ...errorResponses },
    },
  }, async (_req, reply) => reply.header('content-type', registry.contentType).send(Buffer.from(await registry.metrics()) as unknown as string)); // bytes are sent as they are, never serialized
}
