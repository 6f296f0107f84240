import { ErrorBody } from './schemas.js';

/** The error answers every authenticated route can give, documented once. */
export const errorResponses = {
  400: ErrorBody.describe('invalid_argument'),
  401: ErrorBody.describe('unauthenticated: missing, unknown, revoked or expired key'),
  403: ErrorBody.describe('permission_denied: the key role is not enough'),
  404: ErrorBody.describe('not_found'),
  409: ErrorBody.describe('conflict'),
  503: ErrorBody.describe('unavailable: the registry cannot be reached'),
} as const;
