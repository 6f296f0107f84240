import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { retryFirmware, showStationAuth } from '../../../operations/station-firmware.js';
import { rotateStationCredential } from '../../../operations/credential-rotate.js';
import { pkiDirOption } from '../../../pki/pki-folder.js';
import type { StationAuth } from '../../../registry/auth-types.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { fileParam } from '../file-param.js';
import { errorResponses } from '../responses.js';
import { EuiParams, Station } from '../schemas.js';
import { stationJson } from '../views.js';

const time = z.string().describe('ISO 8601 time');
const category = z.enum(['cups', 'tc']);
const status = z.string().describe('active or retired');

export const StationAuthBody = z
  .object({
    eui: z.string(),
    mode: z.string().describe('mtls, token or none'),
    certificates: z.array(
      z.object({ fingerprint: z.string().describe('SHA-256 of the DER certificate'), category, status, credCrc: z.number().int(), notAfter: time.nullable(), createdAt: time, retiredAt: time.nullable(), retiredReason: z.string().nullable() }),
    ),
    tokens: z.array(
      z.object({ id: z.string(), category, status, credCrc: z.number().int(), createdAt: time, retiredAt: time.nullable(), retiredReason: z.string().nullable(), compromisedAt: time.nullable(), compromisedReason: z.string().nullable() }),
    ),
    rotations: z.array(z.object({ category, newCrc: z.number().int(), targetMode: z.string().nullable(), startedAt: time })),
  })
  .meta({ id: 'StationAuth' });

export const RotateBody = z
  .object({
    for: category.default('cups').describe('cups (this server) or tc (the LNS)'),
    tcTrust: z.string().min(1).max(65536).optional().describe('with for tc: a new CA certificate (PEM text or base64 DER) that verifies the LNS; default the one the station has'),
    force: z.boolean().optional().describe('rotate although an active rotation rollout of this category holds the station; the rollout records it as changed outside it'),
  })
  .strict()
  .meta({ id: 'RotateRequest' });

export const Rotated = z
  .object({ eui: z.string(), category, kind: z.enum(['certificate', 'token']), crc: z.number().int().describe('CRC the station reports once it holds the new credential'), fingerprint: z.string().nullable(), notAfter: time.nullable(), tokenId: z.string().nullable(), warnings: z.array(z.string()).optional().describe('notes, not errors: e.g. the station calls CUPS over plain HTTP, so its new CUPS credential is sent only once it calls over https') })
  .meta({ id: 'Rotated' });

const iso = (d: Date | null | undefined) => (d === null || d === undefined ? null : d.toISOString());

export function authJson(a: StationAuth): z.infer<typeof StationAuthBody> {
  return {
    eui: a.eui,
    mode: a.mode,
    certificates: a.certificates.map((c) => ({ fingerprint: c.fingerprint, category: c.category, status: c.status, credCrc: c.credCrc, notAfter: iso(c.notAfter), createdAt: c.createdAt.toISOString(), retiredAt: iso(c.retiredAt), retiredReason: c.retiredReason })),
    tokens: a.tokens.map((t) => ({ id: t.id, category: t.category, status: t.status, credCrc: t.credCrc, createdAt: t.createdAt.toISOString(), retiredAt: iso(t.retiredAt), retiredReason: t.retiredReason, compromisedAt: iso(t.compromisedAt), compromisedReason: t.compromisedReason ?? null })),
    rotations: a.rotations.map((r) => ({ category: r.category, newCrc: r.newCrc, targetMode: r.targetMode, startedAt: r.startedAt.toISOString() })),
  };
}

/** Per-station reads and actions beyond the station record: thin adapters over operations/station-firmware.ts. */
export function registerStationActionRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['stations'];

  api.get('/stations/:eui/auth', {
    schema: { tags, summary: 'How the station authenticates: mode, certificates with fingerprints and expiry, tokens (never secrets), pending rotations', params: EuiParams, response: { 200: StationAuthBody, ...errorResponses } },
  }, async (req) => authJson(await showStationAuth(contextOf(req, deps), req.params.eui)));

  api.post('/stations/:eui/rotate', {
    schema: {
      tags,
      summary: 'Replace the certificate or token the station uses with a new one from the station CA, sent on its next request; the old one stays valid until the station reports the new one',
      params: EuiParams,
      body: RotateBody,
      response: { 200: Rotated, ...errorResponses },
    },
  }, async (req) => {
    const trust = req.body.tcTrust === undefined ? undefined : fileParam(req.body.tcTrust, 'tcTrust');
    const r = await rotateStationCredential({ ...contextOf(req, deps), rollouts: deps.rollouts }, req.params.eui, req.body.for, deps.pkiDir ?? pkiDirOption(undefined), trust, { force: req.body.force === true });
    return { ...r, notAfter: iso(r.notAfter), warnings: [...r.warnings] };
  });

  api.post('/stations/:eui/firmware/retry', {
    schema: { tags, summary: 'Offer a failed or stuck upgrade again: back to pending, offer count reset', params: EuiParams, response: { 200: Station, ...errorResponses } },
  }, async (req) => stationJson(await retryFirmware(contextOf(req, deps), req.params.eui)));
}
