import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { invalid } from '../core/errors.js';
import { keyCrc, sigKeyFromPublicKey, signStream } from '../signing/index.js';
import type { ProvisioningPage } from '../http/admin/import-schemas.js';
import { checkExportOptions, exportChunks, parseExportFormat } from '../operations/station-export.js';
import { detectFormat, parseImportFormat } from '../operations/station-import-format.js';
import type { ProvisionedStation } from '../registry/index.js';
import type { FirmwareFileArgs, OperatorActions } from './actions.js';
import type { ApiCall, QueryValue } from './remote-http.js';
import type { z } from 'zod';

const e = encodeURIComponent;

/**
 * The signatures of an upload as query parameters. Keys given with --sign-with
 * sign the file here, before it is sent: a private signing key never leaves this
 * host. The server verifies every signature over the bytes it stores.
 */
async function signatureQuery(file: FirmwareFileArgs): Promise<Record<string, QueryValue>> {
  const signatures = file.signatures.map((s) => ({ keyCrc: s.keyCrc, signature: s.signature }));
  const publicKeys = [...file.publicKeys];
  for (const key of file.signWith) {
    const sigKey = sigKeyFromPublicKey(key);
    signatures.push({ keyCrc: keyCrc(sigKey), signature: await signStream(createReadStream(file.path), key) });
    publicKeys.push(sigKey);
  }
  // The server names the stored file by this hash and checks the bytes it stores
  // against it: a file changed after this read is refused with nothing stored.
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file.path) as AsyncIterable<Buffer>) hash.update(chunk);
  return {
    sha256: hash.digest('hex'),
    keyCrc: signatures.map((s) => String(s.keyCrc)),
    signature: signatures.map((s) => s.signature.toString('base64')),
    publicKey: publicKeys.map((k) => k.toString('hex')),
  };
}

function refuseLocalOnly(local: { readonly pkiDir?: string } | undefined): void {
  if (local?.pkiDir !== undefined) {
    throw invalid(
      'local_only_option',
      '--pki-dir names a folder on this host; with --server the server issues from its own station CA (its BSCUPS_PKI_DIR), so leave --pki-dir out',
      { field: '--pki-dir' },
    );
  }
}

/** The remote mode: every action is one or two admin API requests with the operator's key. */
export function createRemoteActions(call: ApiCall): OperatorActions {
  return {
    mode: 'remote',
    listStations: (args) => call('GET', '/stations', { query: { ...args } }),
    registerStation: (input) => call('POST', '/stations', { json: input }),
    showStation: (eui) => call('GET', `/stations/${e(eui)}`),
    changeStation: (eui, change) => call('PATCH', `/stations/${e(eui)}`, { json: change }),
    removeStation: (eui) => call('DELETE', `/stations/${e(eui)}`),
    stationEvents: (eui, args) => call('GET', `/stations/${e(eui)}/events`, { query: { limit: args.limit } }),
    unknownStations: (args) => call('GET', '/unknown-stations', { query: { limit: args.limit, cursor: args.cursor } }),
    // The file goes as it is, streamed, with the content type of its format; the server reads it as a stream too.
    importStations: async (file) => {
      const head = file.path === undefined ? (file.text ?? '') : await fileHead(file.path);
      const format = parseImportFormat(file.format) ?? detectFormat(head, file.fileName);
      const contentType = IMPORT_CONTENT_TYPES[format];
      const query = { format, dryRun: file.dryRun, batchSize: file.batchSize, ...(file.force === true ? { force: true } : {}) };
      if (file.path === undefined) return call('POST', '/stations/import', { query, text: { body: file.text ?? '', contentType } });
      return call('POST', '/stations/import', { query, file: { path: file.path, size: (await stat(file.path)).size, contentType } });
    },
    exportStations: (format, options = {}) => {
      const f = parseExportFormat(format);
      return exportChunks(f, exportPages(call), checkExportOptions(f, options));
    },

    stationAuth: (eui) => call('GET', `/stations/${e(eui)}/auth`),
    stationCompliance: (eui) => call('GET', `/stations/${e(eui)}/compliance`),
    setAuthMode: (eui, mode, force) => call('PUT', `/stations/${e(eui)}/auth`, { json: force === true ? { mode, force } : { mode } }),
    setCredential: async (eui, input, local) => {
      refuseLocalOnly(local);
      return call('PUT', `/stations/${e(eui)}/credentials`, { json: input });
    },
    issueCredentials: async (eui, kind, input, local) => {
      refuseLocalOnly(local);
      return call('POST', `/stations/${e(eui)}/${kind === 'certificate' ? 'issue-cert' : 'issue-token'}`, { json: input });
    },
    rotateCredential: async (eui, input, local) => {
      refuseLocalOnly(local);
      return call('POST', `/stations/${e(eui)}/rotate`, { json: input });
    },
    revokeCredential: (eui, input) => call('POST', `/stations/${e(eui)}/revoke`, { json: input }),

    listSigningKeys: () => call('GET', '/signing-keys'),
    addSigningKey: (input) => call('POST', '/signing-keys', { json: input }),
    removeSigningKey: (crc) => call('DELETE', `/signing-keys/${crc}`),

    uploadPackage: async (file, models) =>
      call('PUT', `/firmware/${e(file.package)}`, { query: { ...(await signatureQuery(file)), model: [...models] }, file: uploadOf(file) }),
    listPackages: () => call('GET', '/firmware'),
    showPackage: (pkg) => call('GET', `/firmware/${e(pkg)}`),
    removePackage: (pkg) => call('DELETE', `/firmware/${e(pkg)}`),
    targetPackage: (pkg, t) => call('POST', `/firmware/${e(pkg)}/targets`, { json: { stations: [...t.stations], labels: { ...t.labels }, maxOffers: t.maxOffers, allowDowngrade: t.allowDowngrade } }),
    upgradeFirmware: async (file, t) =>
      call('POST', '/firmware-upgrades', {
        query: {
          package: file.package,
          ...(await signatureQuery(file)),
          station: [...t.stations],
          label: Object.entries(t.labels).map(([k, v]) => `${k}=${v}`),
          maxOffers: t.maxOffers,
          allowDowngrade: t.allowDowngrade,
          ...(t.force === true ? { force: true } : {}),
        },
        file: uploadOf(file),
      }),
    firmwareStatus: (args) => call('GET', '/firmware-status', { query: { station: [...args.stations], label: [...args.labels] } }),
    retryFirmware: (eui) => call('POST', `/stations/${e(eui)}/firmware/retry`),

    createRollout: (input) => call('POST', '/rollouts', { json: input }),
    listRollouts: (args) => call('GET', '/rollouts', { query: { ...args, state: args.state === undefined ? undefined : [...args.state] } }),
    showRollout: (id) => call('GET', `/rollouts/${e(id)}`),
    rolloutMembers: (id, args) => call('GET', `/rollouts/${e(id)}/members`, { query: { ...args, state: args.state === undefined ? undefined : [...args.state] } }),
    rolloutEvents: (id, args) => call('GET', `/rollouts/${e(id)}/events`, { query: { ...args, type: args.type === undefined ? undefined : [...args.type] } }),
    controlRollout: (id, action) => call('POST', `/rollouts/${e(id)}/${action}`),
    rollbackRollout: (id, input) => call('POST', `/rollouts/${e(id)}/rollback`, { json: input }),
    decideRollout: (id, decision) => call('POST', `/rollouts/${e(id)}/${decision}`),
    retryRollout: (id, input) => call('POST', `/rollouts/${e(id)}/retry`, { json: input }),

    collectBlobs: (input) => call('POST', '/blobs/gc', { json: input }),

    fleetSummary: (args) => call('GET', '/fleet/summary', { query: { ...args } }),
    createApiKey: (input) => call('POST', '/api-keys', { json: input }),
    listApiKeys: () => call('GET', '/api-keys'),
    revokeApiKey: (id) => call('DELETE', `/api-keys/${e(id)}`),
    listAudit: (args) => call('GET', '/audit', { query: { ...args } }),
    addWebhook: (input) => call('POST', '/webhooks', { json: input }),
    listWebhooks: () => call('GET', '/webhooks'),
    removeWebhook: (id) => call('DELETE', `/webhooks/${e(id)}`),
    testWebhook: (id) => call('POST', `/webhooks/${e(id)}/test`),
    webhookDeliveries: (args) => call('GET', '/webhook-deliveries', { query: { webhook: args.webhook, failed: args.failed === true ? 'true' : undefined } }),
  };
}

/** The stations a page at a time from the export's JSON form, in EUI order. */
async function* exportPages(call: ApiCall): AsyncGenerator<readonly ProvisionedStation[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await call<z.infer<typeof ProvisioningPage>>('GET', '/stations/export/page', { query: { limit: 1000, cursor } });
    yield page.items as ProvisionedStation[];
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

function uploadOf(file: FirmwareFileArgs) {
  return { path: file.path, size: file.size, ...(file.onProgress === undefined ? {} : { onProgress: file.onProgress }) };
}

/** The content type each import format travels as. */
const IMPORT_CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8', json: 'application/json' } as const;

/** The start of a file, enough to tell its format by content. */
async function fileHead(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
