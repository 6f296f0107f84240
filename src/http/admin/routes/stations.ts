import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { listEvents, stationCompliance } from '../../../operations/fleet.js';
import { labelStations } from '../../../operations/station-bulk-labels.js';
import { changeStation, countStations, listStations, registerStation, removeStation, showStation } from '../../../operations/stations.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { healthOf } from '../../../operations/context.js';
import { errorResponses } from '../responses.js';
import { EuiParams, Event, EventQuery, pageOf, Removed, Station, StationCount, StationCountQuery, StationCreate, StationLabelsBulk, StationLabelsBulkResult, StationListQuery, StationPatch, StationCompliance } from '../schemas.js';
import { eventJson, stationJson } from '../views.js';

const StationPage = pageOf(Station, 'StationPage');
const EventPage = pageOf(Event, 'EventPage');

export function registerStationRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['stations'];

  api.get('/stations', {
    schema: { tags, summary: 'List stations, filtered and paged', querystring: StationListQuery, response: { 200: StationPage, ...errorResponses } },
  }, async (req) => {
    const ctx = contextOf(req, deps);
    const page = await listStations(ctx, req.query);
    const reading = { now: ctx.clock(), thresholds: healthOf(ctx) };
    return { items: page.items.map((s) => stationJson(s, reading)), nextCursor: page.nextCursor };
  });

  api.get('/stations/count', {
    schema: { tags, summary: 'How many stations the filters of GET /stations match', querystring: StationCountQuery, response: { 200: StationCount, ...errorResponses } },
  }, async (req) => ({ total: await countStations(contextOf(req, deps), req.query) }));

  api.post('/stations/labels', {
    schema: { tags, summary: 'Set and remove labels on every station a filter matches; other labels stay', body: StationLabelsBulk, response: { 200: StationLabelsBulkResult, ...errorResponses } },
  }, async (req) => labelStations(contextOf(req, deps), req.body.filter, { ...(req.body.set === undefined ? {} : { set: req.body.set }), ...(req.body.remove === undefined ? {} : { remove: req.body.remove }) }));

  api.post('/stations', {
    schema: { tags, summary: 'Register a station', body: StationCreate, response: { 201: Station, ...errorResponses } },
  }, async (req, reply) => {
    const station = await registerStation(contextOf(req, deps), req.body);
    return reply.status(201).send(stationJson(station));
  });

  api.get('/stations/:eui', {
    schema: { tags, summary: 'One station: desired beside reported', params: EuiParams, response: { 200: Station, ...errorResponses } },
  }, async (req) => {
    const ctx = contextOf(req, deps);
    return stationJson(await showStation(ctx, req.params.eui), { now: ctx.clock(), thresholds: healthOf(ctx) });
  });

  api.get('/stations/:eui/compliance', {
    schema: { tags, summary: "The station's firmware compliance: latest, behind (and the package it could have), in progress, ahead, no package, unknown", params: EuiParams, response: { 200: StationCompliance, ...errorResponses } },
  }, async (req) => stationCompliance(contextOf(req, deps), req.params.eui));

  api.patch('/stations/:eui', {
    schema: { tags, summary: 'Change name, labels or URIs', params: EuiParams, body: StationPatch, response: { 200: Station, ...errorResponses } },
  }, async (req) => stationJson(await changeStation({ ...contextOf(req, deps), rollouts: deps.rollouts }, req.params.eui, req.body)));

  api.delete('/stations/:eui', {
    schema: { tags, summary: 'Unregister a station and delete its credential blobs', params: EuiParams, response: { 200: Removed, ...errorResponses } },
  }, async (req) => removeStation(contextOf(req, deps), req.params.eui));

  api.get('/stations/:eui/events', {
    schema: { tags, summary: "A station's events, most recent first", params: EuiParams, querystring: EventQuery, response: { 200: EventPage, ...errorResponses } },
  }, async (req) => {
    const ctx = contextOf(req, deps);
    const station = await showStation(ctx, req.params.eui);
    const page = await listEvents(ctx, { ...req.query, eui: station.eui });
    return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
  });
}
