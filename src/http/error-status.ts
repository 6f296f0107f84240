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
