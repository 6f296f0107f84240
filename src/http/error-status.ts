import type { ErrorKind } from '../core/errors.js';

/** The one table from error kind to HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = Object.freeze({
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
});

/** Codes HTTP has a more precise status for than their kind's; a client or proxy expects these. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  body_too_large: 413,
  unsupported_media_type: 415,
});

/** The HTTP status that answers `error`: its kind's, or its code's where HTTP names that case. */
export function httpStatusOf(error: { readonly kind: ErrorKind; readonly code: string }): number {
  return STATUS_BY_CODE[error.code] ?? HTTP_STATUS[error.kind];
}
