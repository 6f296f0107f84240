import { createHash, randomBytes } from 'node:crypto';

/** A freshly issued station token. The secret leaves this object only once: into the credential blob and the operator's terminal. */
export interface IssuedToken {
  /** Public name of the token (listings, revoke). */
  readonly id: string;
  /** The random secret: 32 bytes, base64url. */
  readonly secret: string;
  /** The header line the station sends: `Authorization: Bearer <secret>`. */
  readonly headerLine: string;
  /** SHA-256 of the secret, lowercase hex: the only form the registry stores. */
  readonly hash: string;
}

/** Issues a token for a station's `{cat}.key` (PROTOCOL.md 4.3). */
export function issueStationToken(): IssuedToken {
  const secret = randomBytes(32).toString('base64url');
  return {
    id: `tok-${randomBytes(6).toString('hex')}`,
    secret,
    headerLine: `Authorization: Bearer ${secret}`,
    hash: tokenSecretHash(secret),
  };
}

/**
 * SHA-256 of a token secret. A plain hash is enough (no salt, no slow KDF): the
 * secrets are 256 random bits, so there is nothing to guess, and the server must
 * find a token by its hash on every exchange.
 */
export function tokenSecretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The secret of an `Authorization: Bearer <secret>` header value, or null when the value has another form. */
export function bearerSecret(authorization: string): string | null {
  const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(authorization);
  return m === null ? null : (m[1] as string);
}
