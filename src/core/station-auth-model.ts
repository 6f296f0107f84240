/**
 * What authenticates a station, as the core judges it: its auth mode, the
 * certificates and tokens issued to it (tokens only by id, never the secret)
 * and the credential rotations still waiting for it to move. The registry
 * stores it (registry/auth-types.ts re-exports these names).
 */

/** How a station must authenticate to CUPS. */
export type StationAuthMode = 'mtls' | 'token' | 'none';

export const STATION_AUTH_MODES: readonly StationAuthMode[] = ['mtls', 'token', 'none'];

/** Which credential set a credential belongs to: the one for CUPS, or the one for the LNS (TC). */
export type CredentialCategory = 'cups' | 'tc';

/** Active credentials authenticate; retired ones never again. */
export type CredentialStatus = 'active' | 'retired';

/** A client certificate issued to a station, known by its SHA-256 fingerprint. */
export interface StationCertificate {
  /** SHA-256 of the DER certificate, 64 lowercase hex digits. */
  readonly fingerprint: string;
  readonly category: CredentialCategory;
  readonly status: CredentialStatus;
  /** CRC of the credential blob the certificate was delivered in: what the station reports while it holds it. */
  readonly credCrc: number;
  readonly notAfter: Date | null;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
  /** Why it was retired (e.g. "revoked", "rotated"), or null while active. */
  readonly retiredReason: string | null;
}

/** A token issued to a station; the secret itself is never stored. */
export interface StationToken {
  /** Public identifier used to name the token (revoke, listings). */
  readonly id: string;
  /** The station the token opens. */
  readonly eui: string;
  readonly category: CredentialCategory;
  readonly status: CredentialStatus;
  /** CRC of the credential blob the token was delivered in. */
  readonly credCrc: number;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
  readonly retiredReason: string | null;
  /** When the token was seen in clear (sent over plain HTTP); it stays valid until replaced. Null or absent: never. */
  readonly compromisedAt?: Date | null;
  /** How it was exposed, e.g. "sent over plain HTTP from 192.0.2.7". */
  readonly compromisedReason?: string | null;
}

/** A credential change waiting for the station to report the new CRC. */
export interface PendingRotation {
  readonly category: CredentialCategory;
  /** The credential CRC the station reports once it holds the new credential. */
  readonly newCrc: number;
  /** Auth mode applied when the rotation completes (cups only); null leaves the mode as it is. */
  readonly targetMode: StationAuthMode | null;
  readonly startedAt: Date;
}

/** Everything authentication reads about one registered station. */
export interface StationAuth {
  readonly eui: string;
  /** `none` until an operator or an issued credential sets another. */
  readonly mode: StationAuthMode;
  /** Every certificate ever registered, active and retired, oldest first. */
  readonly certificates: readonly StationCertificate[];
  /** Every token ever issued (without hashes), oldest first. */
  readonly tokens: readonly StationToken[];
  readonly rotations: readonly PendingRotation[];
}
