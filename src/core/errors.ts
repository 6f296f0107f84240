/**
 * The one error type of the project. Every failure a user can see carries a
 * stable snake_case `code`, a `kind` that decides the HTTP status and CLI exit
 * code (one table each, in http/error-status.ts and cli/exit-codes.ts), and a
 * message that tells the user what to do.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'unavailable'
  | 'internal';

export class CupsError extends Error {
  override readonly name = 'CupsError';
  constructor(
    /** Stable machine-readable identifier, snake_case. */
    readonly code: string,
    /** Category that selects HTTP status and exit code. */
    readonly kind: ErrorKind,
    message: string,
    /** Optional structured context (never secrets). */
    readonly details?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Shorthand for input that cannot be accepted; `field` is named in the message by the caller. */
export function invalid(code: string, message: string, details?: Record<string, unknown>): CupsError {
  return new CupsError(code, 'invalid_argument', message, details);
}

export function notFound(code: string, message: string, details?: Record<string, unknown>): CupsError {
  return new CupsError(code, 'not_found', message, details);
}

export function conflict(code: string, message: string, details?: Record<string, unknown>): CupsError {
  return new CupsError(code, 'conflict', message, details);
}

export function unavailable(code: string, message: string, cause?: unknown): CupsError {
  return new CupsError(code, 'unavailable', message, undefined, { cause });
}

export function isCupsError(e: unknown): e is CupsError {
  return e instanceof CupsError;
}
