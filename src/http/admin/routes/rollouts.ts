import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { controlRollout, createRollout, getRollout, listRolloutEvents, listRolloutMembers, listRollouts, rollbackRollout } from '../../../operations/rollouts.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import {
  RollbackBody,
  RollbackResult,
  Rollout,
  RolloutCreate,
  RolloutEventPage,
  RolloutEventQuery,
  RolloutListQuery,
  RolloutMemberPage,
  RolloutMemberQuery,
  RolloutPage,
  RolloutParams,
  RetryBody,
  RetryResult,
} from '../rollout-schemas.js';
import { memberJson, rolloutEventJson, rolloutJson } from '../rollout-views.js';
import { decideRollout, retryRollout } from '../../../operations/rollout-decisions.js';

/** Fleet rollouts: thin adapters over operations/rollouts.ts; the engine in every server advances them. */
export function registerRolloutRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['rollouts'];
  const ctx = (req: Parameters<typeof contextOf>[0]) => ({
    ...contextOf(req, deps),
    rollouts: deps.rollouts,
    ...(deps.rolloutsChanged === undefined ? {} : { rolloutsChanged: deps.rolloutsChanged }),
    ...(deps.rolloutPolicy === undefined ? {} : { rolloutPolicy: deps.rolloutPolicy }),
  });

  api.get('/rollouts', {
    schema: {
      tags,
      summary: 'Rollouts, most recent first, paged, each with its counts per wave and state (an SQL aggregate: no member rows), gate and ETA',
      querystring: RolloutListQuery,
      response: { 200: RolloutPage, ...errorResponses },
    },
  }, async (req) => {
    const q = req.query;
    const page = await listRollouts(ctx(req), { states: q.state ?? [], ...(q.limit === undefined ? {} : { limit: q.limit }), ...(q.cursor === undefined ? {} : { cursor: q.cursor }) });
    return { items: page.items.map(rolloutJson), nextCursor: page.nextCursor };
  });

  api.post('/rollouts', {
    schema: { tags, summary: 'Create a rollout: one change, a selector, a plan of waves and gates', body: RolloutCreate, response: { 201: Rollout, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(rolloutJson(await createRollout(ctx(req), req.body))));

  api.get('/rollouts/:id', {
    schema: { tags, summary: 'One rollout with its counts per wave and state, gate and ETA; members and events are paged resources of it', params: RolloutParams, response: { 200: Rollout, ...errorResponses } },
  }, async (req) => rolloutJson(await getRollout(ctx(req), req.params.id)));

  api.get('/rollouts/:id/members', {
    schema: { tags, summary: "One page of a rollout's members in EUI order, optionally only some states (failed: failed and lost) or one wave", params: RolloutParams, querystring: RolloutMemberQuery, response: { 200: RolloutMemberPage, ...errorResponses } },
  }, async (req) => {
    const q = req.query;
    const page = await listRolloutMembers(ctx(req), req.params.id, {
      states: q.state ?? [],
      ...(q.wave === undefined ? {} : { wave: q.wave }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    return { items: page.items.map(memberJson), nextCursor: page.nextCursor };
  });

  api.get('/rollouts/:id/events', {
    schema: { tags, summary: "One page of a rollout's event log, oldest first or newest first", params: RolloutParams, querystring: RolloutEventQuery, response: { 200: RolloutEventPage, ...errorResponses } },
  }, async (req) => {
    const q = req.query;
    const page = await listRolloutEvents(ctx(req), req.params.id, {
      types: q.type ?? [],
      ...(q.order === undefined ? {} : { order: q.order }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    return { items: page.items.map(rolloutEventJson), nextCursor: page.nextCursor };
  });

  for (const action of ['pause', 'resume', 'abort'] as const) {
    api.post(`/rollouts/:id/${action}`, {
      schema: { tags, summary: `${action[0]?.toUpperCase()}${action.slice(1)} a rollout`, params: RolloutParams, response: { 200: Rollout, ...errorResponses } },
    }, async (req) => rolloutJson(await controlRollout(ctx(req), req.params.id, action)));
  }

  for (const decision of ['approve', 'deny'] as const) {
    api.post(`/rollouts/:id/${decision}`, {
      schema: {
        tags,
        summary: decision === 'approve'
          ? 'Approve a rollout waiting for approval: it runs from wave 1. Needs another key than its creator\'s'
          : 'Deny a rollout waiting for approval: it is aborted, nothing was offered. Needs another key than its creator\'s',
        params: RolloutParams,
        response: { 200: Rollout, ...errorResponses },
      },
    }, async (req) => rolloutJson(await decideRollout(ctx(req), req.params.id, decision)));
  }

  api.post('/rollouts/:id/retry', {
    schema: { tags, summary: 'Offer the change again to failed members (a new offer, a new deadline, the same gates); a halted or completed rollout runs again', params: RolloutParams, body: RetryBody.optional(), response: { 200: RetryResult, ...errorResponses } },
  }, async (req) => {
    const r = await retryRollout(ctx(req), req.params.id, req.body ?? {});
    return { ...rolloutJson(r), retried: [...r.retried], skipped: r.skipped.map((s) => ({ ...s })) };
  });

  api.post('/rollouts/:id/rollback', {
    schema: { tags, summary: 'Set touched stations back to their previous configuration', params: RolloutParams, body: RollbackBody.optional(), response: { 200: RollbackResult, ...errorResponses } },
  }, async (req) => {
    const r = await rollbackRollout(ctx(req), req.params.id, req.body ?? {});
    return { rollout: r.rollout, reverted: r.reverted, skipped: [...r.skipped], rollouts: [...r.rollouts] };
  });
}
