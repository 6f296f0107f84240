import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './app.js';

/** Liveness (process up) and readiness (registry and blob store reachable). */
export function registerHealth(app: FastifyInstance, deps: Pick<AppDeps, 'registry' | 'blobs'>): void {
  app.get('/healthz', async (_req, reply) => reply.header('content-type', 'text/plain').send('ok\n'));

  app.get('/readyz', async (_req, reply) => {
    const checks = await Promise.allSettled([deps.registry.ping(), deps.blobs.ping()]);
    const [db, blobs] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : messageOf(c.reason)));
    const ready = db === 'ok' && blobs === 'ok';
    return reply.status(ready ? 200 : 503).send({ ready, registry: db, blobs });
  });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
