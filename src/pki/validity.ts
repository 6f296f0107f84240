import { invalid } from '../core/errors.js';

/**
 * Certificates start this long before "now": a station or server whose clock
 * runs slightly behind the issuer's must not see a brand-new certificate as
 * not yet valid.
 */
export const BACKDATE_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ValidityInput {
  readonly validDays?: number | undefined;
  readonly now?: Date | undefined;
  readonly notBefore?: Date | undefined;
  readonly notAfter?: Date | undefined;
}

/** Resolves the validity window from options, checking every date; `defaultDays` applies without `validDays`. */
export function resolveValidity(options: ValidityInput, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date();
  assertDate(now, 'now');
  const days = options.validDays ?? defaultDays;
  if (!Number.isFinite(days) || days <= 0) {
    throw invalid('invalid_validity', `validDays must be a positive number of days (got ${String(days)})`, {
      field: 'validDays',
    });
  }
  const notBefore = options.notBefore ?? new Date(now.getTime() - BACKDATE_MS);
  const notAfter = options.notAfter ?? new Date(now.getTime() + days * DAY_MS);
  assertDate(notBefore, 'notBefore');
  assertDate(notAfter, 'notAfter');
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw invalid(
      'invalid_validity',
      `notAfter (${notAfter.toISOString()}) must be later than notBefore (${notBefore.toISOString()})`,
      { field: 'notAfter' },
    );
  }
  return { notBefore, notAfter };
}

function assertDate(value: Date, field: string): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw invalid('invalid_validity', `${field} must be a valid Date`, { field });
  }
}
