/**
 * What the server needs to authenticate a station, kept apart from the station
 * twin: the auth mode, the certificates and tokens issued to it (tokens only as
 * hashes), and credential rotations still waiting for the station to move.
 * Reading it tells nothing about the station's configuration.
 */

import type { CredentialRef, NewEvent, Station } from './types.js';
import type { CredentialCategory, StationAuth, StationAuthMode, StationToken } from '../core/station-auth-model.js';

// The auth model lives in the core, which authenticates over it; re-exported for the registry's importers.
export type {
  CredentialCategory,
  CredentialStatus,
  PendingRotation,
  StationAuth,
  StationAuthMode,
  StationCertificate,
  StationToken,
} from '../core/station-auth-model.js';
export { STATION_AUTH_MODES } from '../core/station-auth-model.js';

export interface NewStationCertificate {
  readonly fingerprint: string;
  readonly category: CredentialCategory;
  readonly credCrc: number;
  readonly notAfter: Date | null;
}

export interface NewStationToken {
  readonly id: string;
  /** SHA-256 of the secret, 64 lowercase hex digits. */
  readonly hash: string;
  readonly category: CredentialCategory;
  readonly credCrc: number;
}

export interface NewRotation {
  readonly category: CredentialCategory;
  readonly newCrc: number;
  readonly targetMode: StationAuthMode | null;
}

/** What completing a rotation did. */
export interface CompletedRotation {
  readonly category: CredentialCategory;
  readonly newCrc: number;
  /** Fingerprints retired because the station moved off them. */
  readonly retiredCertificates: readonly string[];
  /** Ids of the tokens retired because the station moved off them. */
  readonly retiredTokens: readonly string[];
  /** The auth mode now in force when the rotation changed it, else null. */
  readonly mode: StationAuthMode | null;
}

/**
 * An operator's change to a station's credentials, written in one transaction
 * (StationRegistry.changeCredentials), so no crash leaves a station sent a
 * credential the server does not accept yet.
 */
export interface CredentialChange {
  /** Registered as active. */
  readonly addCertificates?: readonly NewStationCertificate[];
  readonly addTokens?: readonly NewStationToken[];
  readonly retireCertificates?: readonly { readonly fingerprint: string; readonly reason: string }[];
  readonly retireTokens?: readonly { readonly id: string; readonly reason: string }[];
  /** New desired credentials (null unsets one); other desired fields are left alone. */
  readonly desired?: { readonly cupsCred?: CredentialRef | null; readonly tcCred?: CredentialRef | null };
  /** Dropped before `startRotations` are written. */
  readonly cancelRotations?: readonly CredentialCategory[];
  /** Each replaces a pending rotation of its category. */
  readonly startRotations?: readonly NewRotation[];
  readonly mode?: StationAuthMode;
  readonly events?: readonly NewEvent[];
}

/**
 * Decides a credential change from the station's state read inside the
 * transaction (after its row is locked); throws a CupsError to refuse, which
 * rolls back. Synchronous: it must not wait on anything while the lock is held.
 */
export type CredentialPlan<T> = (current: { readonly station: Station; readonly auth: StationAuth }) => {
  readonly change: CredentialChange;
  readonly result: T;
};

export interface StationAuthStore {
  /** Mode, credentials and pending rotations of a station, without any twin data; undefined when not registered. */
  getStationAuth(eui: string): Promise<StationAuth | undefined>;
  /** The token whose secret has this SHA-256 hash, whichever station holds it; undefined when none does. */
  findToken(hash: string): Promise<StationToken | undefined>;
  /** Sets the station's auth mode; throws not_found `station_not_found`. */
  setAuthMode(eui: string, mode: StationAuthMode, at: Date): Promise<void>;
  /** Registers an issued certificate as active; throws conflict `certificate_exists` for a known fingerprint. */
  addCertificate(eui: string, certificate: NewStationCertificate, at: Date): Promise<void>;
  /** Stores an issued token's hash as active; throws conflict `token_exists` for a known id or hash. */
  addToken(eui: string, token: NewStationToken, at: Date): Promise<void>;
  /** Retires a certificate at once; false when it was already retired; throws not_found `certificate_not_found`. */
  retireCertificate(eui: string, fingerprint: string, reason: string, at: Date): Promise<boolean>;
  /** Retires a token at once; false when it was already retired; throws not_found `token_not_found`. */
  retireToken(eui: string, id: string, reason: string, at: Date): Promise<boolean>;
  /**
   * Marks a token as exposed (it stays valid) and records an `auth` event for its station, once:
   * false when it was already marked or does not exist.
   */
  markTokenCompromised(id: string, reason: string, at: Date): Promise<boolean>;
  /** Starts the rotation of a category, replacing one already pending; throws not_found. */
  startRotation(eui: string, rotation: NewRotation, at: Date): Promise<void>;
  /** Drops the pending rotation of a category; false when none was pending. */
  cancelRotation(eui: string, category: CredentialCategory): Promise<boolean>;
  /**
   * Completes the pending rotation of `category` if it still expects `newCrc`: retires the category's other
   * active credentials, applies the target mode and records an `auth` event, atomically. Undefined when no
   * such rotation was pending (another exchange completed it, or it was replaced).
   */
  completeRotation(eui: string, completion: { readonly category: CredentialCategory; readonly newCrc: number }, at: Date): Promise<CompletedRotation | undefined>;
}
