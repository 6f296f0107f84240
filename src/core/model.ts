/**
 * The station model as the core decides over it: what the operator wants
 * (desired), what the station last said (reported), the firmware target and
 * its progress, and the events an exchange or an operator records. Defined
 * here so the core owns it; the registry stores it (registry/types.ts
 * re-exports these names for older importers).
 */

import type { UpdateInfoRequest } from '../protocol/types.js';
import type { HealthRecord, HealthThresholds } from './health.js';

/** A credential the server wants a station to hold: blob in `stationcredentials` plus its CRC. */
export interface CredentialRef {
  /** Blob name inside the `stationcredentials` container. */
  readonly blob: string;
  /** crc32 of the normalised blob: what the station reports once it applied it. */
  readonly crc: number;
  /** Blob size in bytes. */
  readonly size: number;
}

export interface DesiredConfig {
  readonly cupsUri: string | null;
  readonly tcUri: string | null;
  readonly cupsCred: CredentialRef | null;
  readonly tcCred: CredentialRef | null;
}

/** Everything the last update-info request said: the request itself, less the EUI the station is keyed by. */
export type ReportedState = Omit<UpdateInfoRequest, 'router'>;

export type FirmwareState = 'pending' | 'offered' | 'upgraded' | 'failed';

export interface FirmwareSignature {
  /** CRC-32 of the sig-N.key that verifies this signature. */
  readonly keyCrc: number;
  /** DER signature, base64. */
  readonly signature: string;
}

/** An update file as stored: what a firmware target and a library package both name. */
export interface FirmwareUpdate {
  /** Package version (what the update writes into version.txt). */
  readonly package: string;
  /** Blob name inside the `fwupgrades` container. */
  readonly blob: string;
  readonly size: number;
  /** Hex SHA-256 of the update file. */
  readonly sha256: string;
  readonly signatures: readonly FirmwareSignature[];
}

/** The firmware an operator asked a station to run, and how far it got. */
export interface FirmwareTarget extends FirmwareUpdate {
  readonly state: FirmwareState;
  /** How many times the update was sent. */
  readonly offers: number;
  /** After this many offers without the package changing, the state becomes failed. */
  readonly maxOffers: number;
  /** Package reported when the target was set. */
  readonly fromPackage: string | null;
  readonly requestedAt: Date;
  readonly lastOfferedAt: Date | null;
  readonly upgradedAt: Date | null;
  readonly lastError: string | null;
}

export interface Station {
  /** 16 uppercase hex digits. */
  readonly eui: string;
  readonly name: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly desired: DesiredConfig;
  readonly reported: ReportedState | null;
  readonly lastSeenAt: Date | null;
  readonly lastRemoteAddress: string | null;
  /** A configuration problem an operator must see (e.g. missing signing key), or null. */
  readonly problem: string | null;
  readonly firmware: FirmwareTarget | null;
  /** Health from the cadence of its calls (core/health.ts); absent or null before its first decided exchange. */
  readonly health?: HealthRecord | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type EventType =
  | 'exchange' // a request was answered; detail says what was sent
  | 'reported_changed' // the station reported something new
  | 'firmware_offered'
  | 'firmware_upgraded'
  | 'firmware_failed'
  | 'firmware_interrupted' // a download was cut off before its end; no offer was counted
  | 'firmware_deferred' // the server's downloads in flight were at their cap: offered at a later call
  | 'problem' // a configuration problem was found
  | 'error' // the exchange failed on the server
  | 'config' // an operator changed desired state
  | 'rollout' // a rollout offered, confirmed, failed, skipped or reverted this station
  | 'health' // the station's health (core/health.ts) changed; detail is a HealthChange
  | 'auth'; // authentication outcome worth keeping (never secrets)

export interface NewEvent {
  readonly type: EventType;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface StationEvent extends NewEvent {
  readonly id: number;
  readonly eui: string;
  /** When it happened; for a coalesced row (count present), the last occurrence. */
  readonly at: Date;
  /** Occurrences a coalesced row stands for (repeated refusals); absent for ordinary events. */
  readonly count?: number;
  /** First occurrence of a coalesced row. */
  readonly firstAt?: Date;
}

/** A firmware state change applied atomically, only if the target still has `package`. */
export interface FirmwareTransition {
  readonly package: string;
  /** Increment the offer counter and stamp lastOfferedAt. */
  readonly offered?: boolean;
  readonly state?: FirmwareState;
  readonly lastError?: string | null;
  /** Set on the transition to upgraded. */
  readonly upgradedAt?: Date;
}

/** What one answered exchange changes, written in one transaction. */
export interface ExchangeRecord {
  readonly at: Date;
  readonly remoteAddress: string | null;
  /** Written only when different from the stored reported state; last-seen is always stamped. */
  readonly reported: ReportedState;
  /** undefined leaves the problem as it is; null clears it. */
  readonly problem?: string | null;
  readonly events: readonly NewEvent[];
  readonly firmware?: FirmwareTransition;
  /** Decide the station's health in the same transaction (core/health.ts); absent leaves it alone. */
  readonly health?: ExchangeHealth;
}

/** What the registry needs to decide health in an exchange. */
export interface ExchangeHealth {
  readonly thresholds: HealthThresholds;
  /** This answer carries a CUPS URI or CUPS credential change: the station calls again at once. */
  readonly callsAgain: boolean;
  /** The latest exchange this process knows of (its own stamps not yet written), if any. */
  readonly previousSeenAt: Date | null;
  /** The station reports a TC URI (without one it has no LNS health). */
  readonly hasTc: boolean;
}
