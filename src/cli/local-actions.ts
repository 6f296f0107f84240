import { createReadStream } from 'node:fs';
import { blobsGcJson, firmwareStatusJson, issuedJson } from '../http/admin/action-views.js';
import * as A from '../http/admin/action-schemas.js';
import { fileParam } from '../http/admin/file-param.js';
import { ImportResult, importResultJson } from '../http/admin/import-schemas.js';
import * as R from '../http/admin/rollout-schemas.js';
import { memberJson, packageJson, rolloutEventJson, rolloutJson } from '../http/admin/rollout-views.js';
import { authJson, Rotated, StationAuthBody } from '../http/admin/routes/station-actions.js';
import * as S from '../http/admin/schemas.js';
import { apiKeyJson, auditJson, eventJson, signingKeyJson, stationJson, summaryJson, unknownJson } from '../http/admin/views.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../operations/api-keys.js';
import { listAudit } from '../operations/audit.js';
import { collectBlobs } from '../operations/blobs-gc.js';
import { localActor, type OperationContext } from '../operations/context.js';
import { rotateStationCredential } from '../operations/credential-rotate.js';
import { listPackages, removePackage, showPackage, targetPackage, uploadPackage, type RolloutContext } from '../operations/firmware-library.js';
import { firmwareStatus, upgradeStationsFirmware } from '../operations/firmware-targets.js';
import type { FirmwareSource } from '../operations/firmware-upload.js';
import { fleetSummary, listEvents, listSigningKeys, listUnknownStations, stationCompliance } from '../operations/fleet.js';
import { parseLabelArgs } from '../operations/label-args.js';
import { decideRollout, retryRollout } from '../operations/rollout-decisions.js';
import { controlRollout, createRollout, getRollout, listRolloutEvents, listRolloutMembers, listRollouts, rollbackRollout } from '../operations/rollouts.js';
import { addSigningKey, removeSigningKey } from '../operations/signing-keys.js';
import { changeStationAuthMode, issueStationCredentials, revokeStationCredential, setStationCredential } from '../operations/station-credentials.js';
import { retryFirmware, showStationAuth } from '../operations/station-firmware.js';
import { changeStation, listStations, registerStation, removeStation, showStation } from '../operations/stations.js';
import { exportStationChunks, parseExportFormat } from '../operations/station-export.js';
import { importStations } from '../operations/station-import.js';
import { textSource } from '../operations/import-stream.js';
import { parseImportFormat } from '../operations/station-import-format.js';
import { pkiDirOption, pkiFiles } from '../pki/pki-folder.js';
import type { CertificateFiles } from '../operations/certificate-lifetimes.js';
import type { Runtime } from '../runtime.js';
import { healthThresholds } from '../config.js';
import type { FirmwareFileArgs, OperatorActions } from './actions.js';
import * as W from '../http/admin/webhook-schemas.js';
import { addWebhook, deliveryJson, listDeliveries, listWebhooks, removeWebhook, testWebhook, webhookJson, type WebhookContext } from '../operations/webhooks.js';

const CATEGORIES = { cups: ['cups'], tc: ['tc'], both: ['cups', 'tc'] } as const;

function source(file: FirmwareFileArgs): FirmwareSource {
  return { label: `--file ${file.path}`, size: file.size, open: () => createReadStream(file.path) };
}

/**
 * The direct-database mode: operations on this host's registry and blob store,
 * acting as `local:<user>` with the admin role (whoever holds the database
 * credentials is one). Answers go through the API's views and response schemas,
 * so they are the JSON the remote mode receives.
 */
/**
 * The certificates of a server on this host, as `serve` finds them from the same environment:
 * BSCUPS_TLS_CERT (none: plain HTTP, as serve without --tls-cert), and the station CA of the PKI
 * folder (BSCUPS_PKI_DIR or ./data/pki). The same answer as the API's for a server run so.
 */
function localCertificateFiles(): CertificateFiles {
  return { server: process.env['BSCUPS_TLS_CERT'] || undefined, stationCa: pkiFiles(pkiDirOption(undefined)).caCert };
}

export function createLocalActions(rt: Runtime): OperatorActions {
  const ctx: OperationContext = { registry: rt.registry, fleet: rt.fleet, access: rt.access, blobs: rt.blobs, clock: () => new Date(), actor: localActor(), health: healthThresholds(rt.config) };
  // The approval policy binds the direct mode when set in the environment (BSCUPS_ROLLOUTS_NEED_APPROVAL) as serve reads it;
  // the download cap and its count belong to a running server, unknown here.
  const rctx: RolloutContext = { ...ctx, rollouts: rt.rollouts, rolloutPolicy: { needApproval: rt.config.rolloutsNeedApproval, maxConcurrentDownloads: null } };
  const wctx: WebhookContext = { ...ctx, webhooks: rt.webhooks };
  const page = <T, J>(p: { items: T[]; nextCursor: string | null }, view: (t: T) => J) => ({ items: p.items.map(view), nextCursor: p.nextCursor });
  const station = (s: Parameters<typeof stationJson>[0]) => S.Station.parse(stationJson(s, { now: ctx.clock(), thresholds: healthThresholds(rt.config) }));

  return {
    mode: 'local',
    listStations: async (args) => page(await listStations(ctx, args), station),
    registerStation: async (input) => station(await registerStation(ctx, input)),
    showStation: async (eui) => station(await showStation(ctx, eui)),
    changeStation: async (eui, change) => station(await changeStation(rctx, eui, change)),
    removeStation: async (eui) => S.Removed.parse(await removeStation(ctx, eui)),
    stationEvents: async (eui, args) => {
      const s = await showStation(ctx, eui);
      return page(await listEvents(ctx, { eui: s.eui, limit: args.limit }), (e) => S.Event.parse(eventJson(e)));
    },
    unknownStations: async (args) => page(await listUnknownStations(ctx, args), (u) => S.UnknownStation.parse(unknownJson(u))),
    importStations: async (file) => {
      const format = parseImportFormat(file.format);
      const source = file.path === undefined ? textSource(file.text ?? '', { format, fileName: file.fileName }) : { open: () => createReadStream(file.path as string), format, fileName: file.fileName };
      const result = await importStations(ctx, source, { dryRun: file.dryRun, force: file.force === true, ...(file.batchSize === undefined ? {} : { batchSize: file.batchSize }) });
      return ImportResult.parse(importResultJson(result));
    },
    exportStations: (format, options = {}) => exportStationChunks(ctx, parseExportFormat(format), options),

    stationAuth: async (eui) => StationAuthBody.parse(authJson(await showStationAuth(ctx, eui))),
    stationCompliance: async (eui) => S.StationCompliance.parse(await stationCompliance(ctx, eui)),
    setAuthMode: async (eui, mode, force) => StationAuthBody.parse(authJson(await changeStationAuthMode(ctx, eui, mode, force === true))),
    setCredential: async (eui, input, local) =>
      A.CredentialSetResult.parse(
        await setStationCredential(ctx, {
          eui,
          category: input.category,
          trust: fileParam(input.trust, 'trust'),
          cert: input.cert === undefined ? null : fileParam(input.cert, 'cert'),
          key: input.key === undefined ? null : fileParam(input.key, 'key'),
          token: input.token ?? null,
        }, { pkiDir: pkiDirOption(local?.pkiDir), force: input.force === true }),
      ),
    issueCredentials: async (eui, kind, input, local) => {
      const r = await issueStationCredentials(ctx, {
        eui,
        kind,
        categories: CATEGORIES[input.for ?? 'cups'],
        ...(input.tcTrust === undefined ? {} : { tcTrust: fileParam(input.tcTrust, 'tcTrust') }),
        pkiDir: pkiDirOption(local?.pkiDir),
        ...(input.validDays === undefined ? {} : { validDays: input.validDays }),
      });
      return A.Issued.parse(issuedJson(r, input.files === true));
    },
    rotateCredential: async (eui, input, local) => {
      const trust = input.tcTrust === undefined ? undefined : fileParam(input.tcTrust, 'tcTrust');
      const r = await rotateStationCredential(rctx, eui, input.for ?? 'cups', pkiDirOption(local?.pkiDir), trust, { force: input.force === true });
      return Rotated.parse({ ...r, notAfter: r.notAfter === null ? null : r.notAfter.toISOString(), warnings: [...r.warnings] });
    },
    revokeCredential: async (eui, input) => A.Revoked.parse(await revokeStationCredential(ctx, { eui, ...input })),

    listSigningKeys: async () => (await listSigningKeys(ctx)).map((k) => S.SigningKey.parse(signingKeyJson(k))),
    addSigningKey: async (input) => S.SigningKey.parse(signingKeyJson(await addSigningKey(ctx, input))),
    removeSigningKey: async (crc) => A.SigningKeyRemoved.parse(await removeSigningKey(ctx, crc)),

    uploadPackage: async (file, models) => {
      const entry = await uploadPackage(rctx, {
        package: file.package,
        source: source(file),
        signatures: file.signatures,
        publicKeys: file.publicKeys,
        signWith: file.signWith,
        models,
        ...(file.onProgress === undefined ? {} : { onProgress: file.onProgress }),
      });
      return R.FirmwarePackageUploaded.parse({ ...packageJson(entry), uploaded: entry.uploaded });
    },
    listPackages: async () => (await listPackages(rctx)).map((p) => R.FirmwarePackage.parse(packageJson(p))),
    showPackage: async (pkg) => {
      const p = await showPackage(rctx, pkg);
      return R.FirmwarePackageDetail.parse({ ...packageJson(p), use: { stations: [...p.use.stations], rollouts: [...p.use.rollouts], failed: [...(p.use.failed ?? [])] } });
    },
    removePackage: async (pkg) => R.PackageRemoved.parse(await removePackage(rctx, pkg)),
    targetPackage: async (pkg, t) => R.PackageTargeted.parse(await targetPackage(rctx, { package: pkg, ...t })),
    upgradeFirmware: async (file, t) =>
      A.FirmwareUpgraded.parse(
        await upgradeStationsFirmware(rctx, {
          package: file.package,
          source: source(file),
          signatures: file.signatures,
          publicKeys: file.publicKeys,
          signWith: file.signWith,
          ...t,
          ...(file.onProgress === undefined ? {} : { onProgress: file.onProgress }),
        }),
      ),
    firmwareStatus: async (args) =>
      (await firmwareStatus(ctx, { stations: args.stations, labels: parseLabelArgs(args.labels) })).map((s) => A.FirmwareStatus.parse(firmwareStatusJson(s))),
    retryFirmware: async (eui) => station(await retryFirmware(ctx, eui)),

    createRollout: async (input) => R.Rollout.parse(rolloutJson(await createRollout(rctx, input))),
    listRollouts: async ({ state, ...args }) => {
      const page = await listRollouts(rctx, { ...args, ...(state === undefined ? {} : { states: state }) });
      return { items: page.items.map((v) => R.Rollout.parse(rolloutJson(v))), nextCursor: page.nextCursor };
    },
    showRollout: async (id) => R.Rollout.parse(rolloutJson(await getRollout(rctx, id))),
    rolloutMembers: async (id, { state, ...args }) => {
      const page = await listRolloutMembers(rctx, id, { ...args, ...(state === undefined ? {} : { states: state }) });
      return { items: page.items.map((m) => R.RolloutMember.parse(memberJson(m))), nextCursor: page.nextCursor };
    },
    rolloutEvents: async (id, { type, ...args }) => {
      const page = await listRolloutEvents(rctx, id, { ...args, ...(type === undefined ? {} : { types: type }) });
      return { items: page.items.map((e) => R.RolloutEvent.parse(rolloutEventJson(e))), nextCursor: page.nextCursor };
    },
    controlRollout: async (id, action) => R.Rollout.parse(rolloutJson(await controlRollout(rctx, id, action))),
    rollbackRollout: async (id, input) => R.RollbackResult.parse(await rollbackRollout(rctx, id, input)),
    decideRollout: async (id, decision) => R.Rollout.parse(rolloutJson(await decideRollout(rctx, id, decision))),
    retryRollout: async (id, input) => {
      const r = await retryRollout(rctx, id, input);
      return R.RetryResult.parse({ ...rolloutJson(r), retried: [...r.retried], skipped: r.skipped.map((s) => ({ ...s })) });
    },

    collectBlobs: async (input) => A.BlobsGcResult.parse(blobsGcJson(await collectBlobs(rctx, input))),

    fleetSummary: async (args) => S.FleetSummary.parse(summaryJson(await fleetSummary(ctx, { ...args, certificateFiles: localCertificateFiles() }))),
    createApiKey: async (input) => {
      const created = await createApiKey(ctx, input);
      return S.ApiKeyCreated.parse({ key: apiKeyJson(created.key), secret: created.secret });
    },
    listApiKeys: async () => (await listApiKeys(ctx)).map((k) => S.ApiKey.parse(apiKeyJson(k))),
    revokeApiKey: async (id) => S.ApiKey.parse(apiKeyJson(await revokeApiKey(ctx, id))),
    listAudit: async (args) => page(await listAudit(ctx, args), (e) => S.AuditEntry.parse(auditJson(e))),
    addWebhook: async (input) => W.Webhook.parse(webhookJson(await addWebhook(wctx, input))),
    listWebhooks: async () => (await listWebhooks(wctx)).map((w) => W.Webhook.parse(webhookJson(w))),
    removeWebhook: async (id) => W.Webhook.parse(webhookJson(await removeWebhook(wctx, id))),
    testWebhook: (id) => testWebhook(wctx, id),
    webhookDeliveries: async (args) => (await listDeliveries(wctx, args)).map((d) => W.WebhookDelivery.parse(deliveryJson(d))),
  };
}
