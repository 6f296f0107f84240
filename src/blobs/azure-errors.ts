import { conflict, CupsError, isCupsError, unavailable } from '../core/errors.js';

/** The fields of the SDK's RestError this module reads (duck-typed: the SDK is loaded lazily). */
interface AzureRestErrorLike {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly statusCode?: number;
  readonly details?: unknown;
}

const NOT_FOUND_CODES = new Set(['BlobNotFound', 'ContainerNotFound']);

function asRestError(e: unknown): AzureRestErrorLike | undefined {
  if (e instanceof Error && e.name === 'RestError') return e as AzureRestErrorLike;
  return undefined;
}

/** The service's error code: in the body for most calls, only in x-ms-error-code for HEAD. */
export function azureErrorCode(e: unknown): string | undefined {
  const rest = asRestError(e);
  if (!rest) return undefined;
  const details = rest.details as { errorCode?: unknown } | undefined;
  if (details && typeof details.errorCode === 'string') return details.errorCode;
  return rest.code;
}

/** Only a real 404 for a missing blob or container is "not found"; every other 404 is a failure. */
export function isAzureNotFound(e: unknown): boolean {
  const rest = asRestError(e);
  return rest?.statusCode === 404 && NOT_FOUND_CODES.has(azureErrorCode(e) ?? '');
}

/**
 * Turns an SDK failure into the project's error. Errors that did not come from
 * the SDK (a caller's stream failing, a size mismatch) pass through unchanged.
 */
export function azureFailure(e: unknown, what: string): unknown {
  if (isCupsError(e)) return e;
  if (e instanceof Error && e.name === 'AbortError') {
    return unavailable('blobs_unavailable', `Azure Blob Storage did not answer in time while ${what}: check the endpoint and the network`, e);
  }
  const rest = asRestError(e);
  if (!rest) return e;
  const status = rest.statusCode;
  const code = azureErrorCode(e);
  const label = [status, code].filter((x) => x !== undefined).join(' ') || 'network error';
  if (status === 400 && code === 'InvalidBlockList') {
    return withCause(conflict('blob_write_conflict', `another writer replaced the blob while ${what}; retry the upload`), e);
  }
  if (status === 401 || status === 403) {
    return unavailable(
      'blobs_unavailable',
      `Azure Blob Storage refused access (${label}) while ${what}: check the account key or the SAS token's permissions and expiry`,
      e,
    );
  }
  return unavailable(
    'blobs_unavailable',
    `Azure Blob Storage failed (${label}) while ${what}: ${firstLine(rest.message)}; check that the storage account is reachable`,
    e,
  );
}

function withCause(error: CupsError, cause: unknown): CupsError {
  return new CupsError(error.code, error.kind, error.message, error.details, { cause });
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
