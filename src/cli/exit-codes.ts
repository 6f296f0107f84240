import type { ErrorKind } from '../core/errors.js';

/** The one table from error kind to process exit code. */
export const EXIT_CODE: Readonly<Record<ErrorKind | 'usage', number>> = Object.freeze({
  usage: 2,
  invalid_argument: 2,
  not_found: 3,
  conflict: 4,
  unauthenticated: 5,
  permission_denied: 5,
  unavailable: 6,
  internal: 1,
});
