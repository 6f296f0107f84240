import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalid } from '../../../core/errors.js';
import { collectBlobs } from '../../../operations/blobs-gc.js';
import { firmwareStatus, upgradeStationsFirmware } from '../../../operations/firmware-targets.js';
import { addSigningKey, removeSigningKey } from '../../../operations/signing-keys.js';
import { parseLabelArgs } from '../../../operations/label-args.js';
import { BlobsGcRequest, BlobsGcResult, CrcParams, FirmwareStatus, FirmwareStatusQuery, FirmwareUpgraded, FirmwareUpgradeQuery, SigningKeyAdd, SigningKeyRemoved } from '../action-schemas.js';
import { blobsGcJson, firmwareStatusJson } from '../action-views.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { sigKeyParam } from '../file-param.js';
import { errorResponses } from '../responses.js';
import { SigningKey } from '../schemas.js';
import { uploadedBody } from '../upload-body.js';
import { signingKeyJson } from '../views.js';

/** Signing keys, firmware targeting of stations by upload, firmware status, and the blob store's garbage collection. */
export function registerFleetActionRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post('/signing-keys', {
    schema: { tags: ['firmware'], summary: 'Register a public signing key firmware uploads are checked against', body: SigningKeyAdd, response: { 201: SigningKey, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(signingKeyJson(await addSigningKey(contextOf(req, deps), req.body))));

  api.delete('/signing-keys/:crc', {
    schema: { tags: ['firmware'], summary: 'Unregister a signing key; refused while a firmware target not yet upgraded is signed by it', params: CrcParams, response: { 200: SigningKeyRemoved, ...errorResponses } },
  }, async (req) => removeSigningKey(contextOf(req, deps), req.params.crc));

  api.post('/firmware-upgrades', {
    schema: {
      tags: ['firmware'],
      summary:
        'Upload a signed update and target stations at it in one step, outside the library: body application/octet-stream, ' +
        'signatures and targets in the query; verified over the stored bytes, nothing stored or targeted unless all verify',
      querystring: FirmwareUpgradeQuery,
      response: { 200: FirmwareUpgraded, ...errorResponses },
    },
  }, async (req) => {
    const q = req.query;
    const crcs = q.keyCrc ?? [];
    const sigs = q.signature ?? [];
    if (crcs.length !== sigs.length) throw invalid('unpaired_signature', 'give one keyCrc for every signature, in the same order');
    const ctx = { ...contextOf(req, deps), rollouts: deps.rollouts };
    const r = await upgradeStationsFirmware(ctx, {
      package: q.package,
      source: uploadedBody(req, q.sha256),
      signatures: sigs.map((s, i) => ({ keyCrc: Number(crcs[i]), signature: Buffer.from(s, 'base64'), label: `signature ${i + 1}` })),
      publicKeys: (q.publicKey ?? []).map(sigKeyParam),
      stations: q.station ?? [],
      labels: parseLabelArgs(q.label ?? []),
      maxOffers: q.maxOffers ?? 3,
      allowDowngrade: q.allowDowngrade === 'true',
      force: q.force === 'true',
    });
    return { ...r, keyCrcs: [...r.keyCrcs], stations: [...r.stations] };
  });

  api.get('/firmware-status', {
    schema: { tags: ['firmware'], summary: "Each targeted station's firmware target, upgrade state, offers and last error", querystring: FirmwareStatusQuery, response: { 200: z.array(FirmwareStatus), ...errorResponses } },
  }, async (req) => (await firmwareStatus(contextOf(req, deps), { stations: req.query.station ?? [], labels: parseLabelArgs(req.query.label ?? []) })).map(firmwareStatusJson));

  api.post('/blobs/gc', {
    schema: {
      tags: ['blobs'],
      summary: 'Stored firmware and credential blobs nothing uses: listed, or deleted with delete: true; blobs younger than minAge are left alone',
      body: BlobsGcRequest,
      response: { 200: BlobsGcResult, ...errorResponses },
    },
  }, async (req) => blobsGcJson(await collectBlobs({ ...contextOf(req, deps), rollouts: deps.rollouts }, req.body)));
}
