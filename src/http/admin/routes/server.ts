import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authorize } from '../../../operations/context.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { ROLES } from '../../../core/roles.js';

const Totals = z.object({ exchanges: z.number(), errors: z.number(), byOutcome: z.record(z.string(), z.number()) });

export const ServerStats = z
  .object({
    startedAt: z.string().describe('when this server process started'),
    totals: Totals.describe('update-info exchanges answered by this process since it started'),
    lastMinute: z
      .object({ exchanges: z.number(), errors: z.number(), seconds: z.number().describe('the span actually measured, at most about 60') })
      .describe('exchanges and non-ok answers over about the last minute'),
  })
  .meta({ id: 'ServerStats' });

export const RecentRefusals = z
  .object({
    items: z.array(
      z.object({
        at: z.string(),
        eui: z.string().nullable().describe('the EUI the request named, when it got that far'),
        remoteAddress: z.string().nullable(),
        status: z.number().int(),
        code: z.string(),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'RecentRefusals' });

export const Me = z
  .object({ name: z.string(), role: z.enum(ROLES), keyId: z.string().nullable() })
  .meta({ id: 'Me' });

/** The server's own exchange counters as JSON (the same counters /metrics publishes for Prometheus). */
export function registerServerRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/me', {
    schema: { tags: ['access'], summary: 'The key making this request: its name and role (what a client may offer to do)', response: { 200: Me, ...errorResponses } },
  }, async (req) => {
    const { actor } = contextOf(req, deps);
    return { name: actor.name, role: actor.role, keyId: actor.keyId };
  });
  api.get('/server/refusals', {
    schema: { tags: ['fleet'], summary: "The station listener's last non-ok answers (up to 50, newest first): which station, what; kept in this process's memory only", response: { 200: RecentRefusals, ...errorResponses } },
  }, async (req) => {
    authorize(contextOf(req, deps), 'viewer', 'reading server statistics');
    return { items: deps.serverStats?.recentRefusals() ?? [] };
  });
  api.get('/server/stats', {
    schema: { tags: ['fleet'], summary: "This server process's exchange counts: totals and the last minute", response: { 200: ServerStats, ...errorResponses } },
  }, async (req) => {
    authorize(contextOf(req, deps), 'viewer', 'reading server statistics');
    const source = deps.serverStats;
    const now = deps.clock();
    if (source === undefined) {
      const none = { exchanges: 0, errors: 0 };
      return { startedAt: now.toISOString(), totals: { ...none, byOutcome: {} }, lastMinute: { ...none, seconds: 0 } };
    }
    const totals = await source.totals();
    const then = source.before(60_000);
    const base = then?.totals ?? { exchanges: 0, errors: 0 };
    const seconds = Math.max(0, Math.round((now.getTime() - (then?.at ?? source.startedAt).getTime()) / 1000));
    return {
      startedAt: source.startedAt.toISOString(),
      totals,
      lastMinute: { exchanges: totals.exchanges - base.exchanges, errors: totals.errors - base.errors, seconds },
    };
  });
}
