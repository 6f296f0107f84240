import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalid } from '../../../core/errors.js';
import { listPackages, removePackage, showPackage, targetPackage, uploadPackage } from '../../../operations/firmware-library.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { FirmwarePackage, FirmwarePackageDetail, FirmwarePackageUploaded, PackageParams, PackageRemoved, PackageTarget, PackageTargeted, PackageUploadQuery } from '../rollout-schemas.js';
import { packageJson } from '../rollout-views.js';
import { sigKeyParam } from '../file-param.js';
import { uploadedBody } from '../upload-body.js';

/** The firmware library: upload once (streamed, verified over the stored bytes), list, show, remove, target. */
export function registerFirmwareRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['firmware'];
  const ctx = (req: Parameters<typeof contextOf>[0]) => ({ ...contextOf(req, deps), rollouts: deps.rollouts });
  // The update is never held in memory nor spooled: the body stream goes straight
  // into the blob store's staged write, hashed and verified on the way (upload-body.ts).
  api.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  api.get('/firmware', {
    schema: { tags, summary: 'The firmware library, most recent first', response: { 200: z.array(FirmwarePackage), ...errorResponses } },
  }, async (req) => (await listPackages(ctx(req))).map(packageJson));

  api.get('/firmware/:package', {
    schema: { tags, summary: 'One library package and what uses it', params: PackageParams, response: { 200: FirmwarePackageDetail, ...errorResponses } },
  }, async (req) => {
    const p = await showPackage(ctx(req), req.params.package);
    return { ...packageJson(p), use: { stations: [...p.use.stations], rollouts: [...p.use.rollouts], failed: [...(p.use.failed ?? [])] } };
  });

  api.put('/firmware/:package', {
    schema: {
      tags,
      summary: 'Upload an update to the library: body application/octet-stream, signatures in the query; verified over the stored bytes',
      params: PackageParams,
      querystring: PackageUploadQuery,
      response: { 201: FirmwarePackageUploaded, ...errorResponses },
    },
  }, async (req, reply) => {
    const c = ctx(req);
    const crcs = req.query.keyCrc ?? [];
    const sigs = req.query.signature ?? [];
    if (crcs.length !== sigs.length || sigs.length === 0) throw invalid('unpaired_signature', 'give one keyCrc for every signature, in the same order, and at least one');
    const signatures = sigs.map((s, i) => ({ keyCrc: Number(crcs[i]), signature: Buffer.from(s, 'base64'), label: `signature ${i + 1}` }));
    const publicKeys = (req.query.publicKey ?? []).map((k) => sigKeyParam(k));
    const source = uploadedBody(req, req.query.sha256);
    const entry = await uploadPackage(c, { package: req.params.package, source, signatures, publicKeys, models: req.query.model ?? [] });
    return reply.status(201).send({ ...packageJson(entry), uploaded: entry.uploaded });
  });

  api.delete('/firmware/:package', {
    schema: { tags, summary: 'Remove a package and its file; refused while a station target or active rollout uses it', params: PackageParams, response: { 200: PackageRemoved, ...errorResponses } },
  }, async (req) => removePackage(ctx(req), req.params.package));

  api.post('/firmware/:package/targets', {
    schema: { tags, summary: 'Target stations at a library package', params: PackageParams, body: PackageTarget, response: { 200: PackageTargeted, ...errorResponses } },
  }, async (req) => {
    const t = await targetPackage(ctx(req), { package: req.params.package, ...req.body, maxOffers: req.body.maxOffers ?? 3 });
    return { package: t.package, stations: [...t.stations] };
  });
}
