import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { fleetSummary, listEvents, listSigningKeys, listUnknownStations } from '../../../operations/fleet.js';
import type { AdminDeps } from '../app.js';
import type { CertificateFiles } from '../../../operations/certificate-lifetimes.js';
import { pkiDirOption, pkiFiles } from '../../../pki/pki-folder.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { Event, FleetEventQuery, FleetSummary, pageOf, SigningKey, SummaryQuery, UnknownStation, UnknownStationQuery } from '../schemas.js';
import { eventJson, signingKeyJson, summaryJson, unknownJson } from '../views.js';

/** The certificate files this server uses: its --tls-cert, and the station CA of its PKI folder. */
export function serverCertificateFiles(deps: Pick<AdminDeps, 'pkiDir' | 'serverCertFile'>): CertificateFiles {
  return { server: deps.serverCertFile, stationCa: pkiFiles(deps.pkiDir ?? pkiDirOption(undefined)).caCert };
}

export function registerFleetRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['fleet'];

  api.get('/fleet/summary', {
    schema: { tags, summary: 'Counts by sync state, package, model and upgrade state', querystring: SummaryQuery, response: { 200: FleetSummary, ...errorResponses } },
  }, async (req) => summaryJson(await fleetSummary(contextOf(req, deps), { ...req.query, certificateFiles: serverCertificateFiles(deps) })));

  api.get('/events', {
    schema: { tags, summary: 'Events of the whole fleet, most recent first', querystring: FleetEventQuery, response: { 200: pageOf(Event, 'FleetEventPage'), ...errorResponses } },
  }, async (req) => {
    const page = await listEvents(contextOf(req, deps), req.query);
    return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
  });

  api.get('/unknown-stations', {
    schema: { tags, summary: 'EUIs that asked but are not registered, most recent first, a page at a time', querystring: UnknownStationQuery, response: { 200: pageOf(UnknownStation, 'UnknownStationPage'), ...errorResponses } },
  }, async (req) => {
    const page = await listUnknownStations(contextOf(req, deps), req.query);
    return { items: page.items.map(unknownJson), nextCursor: page.nextCursor };
  });

  api.get('/signing-keys', {
    schema: { tags: ['firmware'], summary: 'Public signing keys firmware uploads are checked against', response: { 200: z.array(SigningKey), ...errorResponses } },
  }, async (req) => (await listSigningKeys(contextOf(req, deps))).map(signingKeyJson));
}
