import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { controlRollout, createRollout, listRollouts, rollbackRollout, showRollout } from '../../../operations/rollouts.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { RollbackBody, RollbackResult, Rollout, RolloutCreate, RolloutDetail, RolloutListQuery, RolloutParams } from '../rollout-schemas.js';
import { memberJson, rolloutEventJson, rolloutJson } from '../rollout-views.js';

/** Fleet rollouts: thin adapters over operations/rollouts.ts; the engine in every server advances them. */
export function registerRolloutRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['rollouts'];
  const ctx = (req: Parameters<typeof contextOf>[0]) => ({ ...contextOf(req, deps), rollouts: deps.rollouts, ...(deps.rolloutsChanged === undefined ? {} : { rolloutsChanged: deps.rolloutsChanged }) });

  api.get('/rollouts', {
    schema: { tags, summary: 'Rollouts, most recent first, with counts per wave, gate and ETA', querystring: RolloutListQuery, response: { 200: z.array(Rollout), ...errorResponses } },
  }, async (req) => (await listRollouts(ctx(req), req.query.state)).map(rolloutJson));

  api.post('/rollouts', {
    schema: { tags, summary: 'Create a rollout (operator): one change, a selector, a plan of waves and gates', body: RolloutCreate, response: { 201: Rollout, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(rolloutJson(await createRollout(ctx(req), req.body))));

  api.get('/rollouts/:id', {
    schema: { tags, summary: 'One rollout with its members and its event log', params: RolloutParams, response: { 200: RolloutDetail, ...errorResponses } },
  }, async (req) => {
    const v = await showRollout(ctx(req), req.params.id);
    return { ...rolloutJson(v), members: v.members.map(memberJson), events: v.events.map(rolloutEventJson) };
  });

  for (const action of ['pause', 'resume', 'abort'] as const) {
    api.post(`/rollouts/:id/${action}`, {
      schema: { tags, summary: `${action[0]?.toUpperCase()}${action.slice(1)} a rollout (operator)`, params: RolloutParams, response: { 200: Rollout, ...errorResponses } },
    }, async (req) => rolloutJson(await controlRollout(ctx(req), req.params.id, action)));
  }

  api.post('/rollouts/:id/rollback', {
    schema: { tags, summary: 'Set touched stations back to their previous configuration (operator)', params: RolloutParams, body: RollbackBody.optional(), response: { 200: RollbackResult, ...errorResponses } },
  }, async (req) => {
    const r = await rollbackRollout(ctx(req), req.params.id, req.body ?? {});
    return { rollout: r.rollout, reverted: r.reverted, rollouts: [...r.rollouts] };
  });
}
