import type { BlobsGcResult } from '../../operations/blobs-gc.js';
import type { IssueResult } from '../../operations/credentials.js';
import type { Station } from '../../registry/index.js';
import { stationJson } from './views.js';

// Model objects of the credential, firmware targeting and blob routes to the JSON
// their schemas (action-schemas.ts) describe.

/** An issue result; the station files (its private key or token) only when asked for. */
export function issuedJson(r: IssueResult & { readonly warnings?: readonly string[] }, withFiles: boolean) {
  return {
    eui: r.eui,
    mode: r.mode,
    pendingMode: r.pendingMode,
    warnings: [...(r.warnings ?? [])],
    credentials: r.credentials.map(({ files: _files, notAfter, ...c }) => ({ ...c, ...(notAfter === undefined ? {} : { notAfter: notAfter.toISOString() }) })),
    ...(withFiles
      ? { stationFiles: r.credentials.map((c) => ({ category: c.category, trust: c.files.trust.toString('base64'), crt: c.files.crt.toString('base64'), key: c.files.key.toString('base64') })) }
      : {}),
  };
}

export function firmwareStatusJson(s: Station) {
  return { eui: s.eui, reportedPackage: s.reported?.package ?? null, problem: s.problem, firmware: stationJson(s).firmware };
}

export function blobsGcJson(r: BlobsGcResult) {
  return { dryRun: r.dryRun, bytes: r.bytes, blobs: r.blobs.map((b) => ({ ...b, lastModified: b.lastModified.toISOString() })) };
}
