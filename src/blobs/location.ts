import { fileURLToPath } from 'node:url';
import { CupsError, invalid } from '../core/errors.js';

/** Which driver a blob store location selects, and its argument. */
export type BlobLocation =
  | { readonly driver: 'fs'; readonly root: string }
  | { readonly driver: 'memory' }
  | { readonly driver: 'azure'; readonly connectionString: string }
  | { readonly driver: 'azure'; readonly url: string };

export const ACCEPTED_LOCATIONS =
  'a folder path or file:PATH (filesystem), memory: (in-memory, lost on exit), ' +
  'an Azure connection string, or an Azure account URL with a SAS token (https://ACCOUNT.blob.core.windows.net/?sv=…&sig=…), ' +
  'the Azure forms optionally prefixed with azure:';

/**
 * Parses a blob store location. The message on failure lists every accepted
 * form and never echoes the value, which may hold an account key.
 */
export function parseBlobLocation(location: string): BlobLocation {
  if (typeof location !== 'string' || location.trim() === '') {
    throw invalid('invalid_blob_location', `blob store location is empty: use ${ACCEPTED_LOCATIONS}`);
  }
  const value = location.trim();
  if (value === 'memory:') return { driver: 'memory' };
  if (value.startsWith('file:')) return { driver: 'fs', root: filePath(value) };
  if (value.startsWith('azure:')) {
    const azure = azureLocation(value.slice('azure:'.length).trim());
    if (azure) return azure;
    throw invalid('invalid_blob_location', `blob store location after azure: is neither a connection string nor an account URL: use ${ACCEPTED_LOCATIONS}`);
  }
  const azure = azureLocation(value);
  if (azure) return azure;
  // "memory:x", "s3://…": a scheme we do not know. One letter is a Windows drive, so a path.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(value)?.[1];
  if (scheme !== undefined) {
    throw invalid('invalid_blob_location', `blob store location scheme "${scheme}:" is not supported: use ${ACCEPTED_LOCATIONS}`, { scheme });
  }
  return { driver: 'fs', root: value };
}

function azureLocation(value: string): BlobLocation | undefined {
  const isConnectionString =
    /(?:^|;)\s*(?:AccountName|BlobEndpoint)=/i.test(value) ||
    /^DefaultEndpointsProtocol=/i.test(value) ||
    /^UseDevelopmentStorage=true/i.test(value);
  if (isConnectionString) return { driver: 'azure', connectionString: value };
  if (/^https?:\/\//i.test(value)) return { driver: 'azure', url: value };
  return undefined;
}

function filePath(value: string): string {
  if (value.startsWith('file://')) {
    try {
      return fileURLToPath(value);
    } catch (e) {
      throw new CupsError('invalid_blob_location', 'invalid_argument', `blob store location ${value} is not a valid file URL (use file:///absolute/path): use ${ACCEPTED_LOCATIONS}`, undefined, {
        cause: e,
      });
    }
  }
  const root = value.slice('file:'.length);
  if (root.trim() === '') throw invalid('invalid_blob_location', `blob store location file: has no path (e.g. file:./data/blobs): use ${ACCEPTED_LOCATIONS}`);
  return root;
}
