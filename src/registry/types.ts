/**
 * The station registry: one record ("twin") per station with what the operator
 * wants (desired) and what the station last said (reported), an event history,
 * the firmware target with its upgrade tracking, the EUIs that knocked without
 * being registered, and the public signing keys uploads are checked against.
 */

import type { FaultHook } from '../core/fault-hook.js';
import type { CredentialPlan, StationAuthStore } from './auth-types.js';
import type { StationEventStore } from './event-types.js';

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

/** Everything the last update-info request said. */
export interface ReportedState {
  readonly cupsUri: string | null;
  readonly tcUri: string | null;
  readonly cupsCredCrc: number;
  readonly tcCredCrc: number;
  readonly station: string;
  readonly model: string;
  readonly package: string | null;
  readonly keys: readonly number[];
}

export type FirmwareState = 'pending' | 'offered' | 'upgraded' | 'failed';

export interface FirmwareSignature {
  /** CRC-32 of the sig-N.key that verifies this signature. */
  readonly keyCrc: number;
  /** DER signature, base64. */
  readonly signature: string;
}

/** The firmware an operator asked a station to run, and how far it got. */
export interface FirmwareTarget {
  /** Target package version (what the update writes into version.txt). */
  readonly package: string;
  /** Blob name inside the `fwupgrades` container. */
  readonly blob: string;
  readonly size: number;
  /** Hex SHA-256 of the update file. */
  readonly sha256: string;
  readonly signatures: readonly FirmwareSignature[];
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
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewStation {
  readonly eui: string;
  readonly name?: string | null;
  readonly labels?: Readonly<Record<string, string>>;
  readonly desired?: Partial<DesiredConfig>;
}

export interface StationPatch {
  readonly name?: string | null;
  /** Merged into the labels; a null value removes that label. */
  readonly labels?: Readonly<Record<string, string | null>>;
  readonly desired?: Partial<DesiredConfig>;
  readonly problem?: string | null;
}

export type EventType =
  | 'exchange' // a request was answered; detail says what was sent
  | 'reported_changed' // the station reported something new
  | 'firmware_offered'
  | 'firmware_upgraded'
  | 'firmware_failed'
  | 'firmware_interrupted' // a download was cut off before its end; no offer was counted
  | 'problem' // a configuration problem was found
  | 'error' // the exchange failed on the server
  | 'config' // an operator changed desired state
  | 'rollout' // a rollout offered, confirmed, failed, skipped or reverted this station
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
}

export interface ExchangeResult {
  /** Whether the stored reported state changed. */
  readonly reportedChanged: boolean;
  /** The firmware target after the transition (null when none, or the package no longer matched). */
  readonly firmware: FirmwareTarget | null;
}

export interface UnknownStation {
  readonly eui: string;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly count: number;
  readonly lastRemoteAddress: string | null;
  /** The last request as received (validated form). */
  readonly lastRequest: Readonly<Record<string, unknown>>;
}

/** A public signing key registered so uploads can be checked against it. */
export interface SigningKey {
  readonly crc: number;
  /** The 64 raw bytes X||Y of sig-N.key, hex. */
  readonly publicKey: string;
  readonly name: string | null;
  readonly createdAt: Date;
}

export interface NewFirmwareTarget {
  readonly package: string;
  readonly blob: string;
  readonly size: number;
  readonly sha256: string;
  readonly signatures: readonly FirmwareSignature[];
  readonly maxOffers: number;
  readonly fromPackage: string | null;
  readonly requestedAt: Date;
}

/** The registry also keeps what authentication needs, read apart from the twin (see auth-types.ts). */
export interface StationRegistry extends StationAuthStore, StationEventStore {
  /** Creates or upgrades the schema; safe when many processes start at once. */
  migrate(): Promise<void>;
  /** One cheap round trip to the database; throws `unavailable` when it cannot. */
  ping(): Promise<void>;
  /** Releases connections; the registry is unusable afterwards. */
  close(): Promise<void>;

  /** Registers a station; throws conflict `station_exists` when the EUI is taken. */
  createStation(input: NewStation): Promise<Station>;
  /** The station, or undefined when not registered. */
  getStation(eui: string): Promise<Station | undefined>;
  /** All stations ordered by EUI, optionally only those carrying every given label. */
  listStations(filter?: { readonly labels?: Readonly<Record<string, string>> }): Promise<Station[]>;
  /** Applies a patch; throws not_found `station_not_found`. */
  updateStation(eui: string, patch: StationPatch): Promise<Station>;
  /** Deletes the station with its events and firmware target; false when it did not exist. */
  removeStation(eui: string): Promise<boolean>;

  /** Records an answered exchange atomically (see ExchangeRecord); throws not_found for unknown EUIs. */
  recordExchange(eui: string, record: ExchangeRecord): Promise<ExchangeResult>;
  /** Stamps last-seen only, for an exchange that changed nothing else (one statement); false when not registered. */
  touchStation(eui: string, seen: { readonly at: Date; readonly remoteAddress: string | null }): Promise<boolean>;
  /** Appends events outside an exchange (operator actions, auth failures). */
  appendEvents(eui: string, events: readonly NewEvent[], at: Date): Promise<void>;
  /** Most recent events first. */
  listEvents(eui: string, options?: { readonly limit?: number }): Promise<StationEvent[]>;

  /** Counts a request from an EUI that is not registered. */
  recordUnknown(eui: string, seen: { readonly at: Date; readonly remoteAddress: string | null; readonly request: Readonly<Record<string, unknown>> }): Promise<void>;
  /** Unregistered EUIs that asked, most recent first. */
  listUnknown(): Promise<UnknownStation[]>;

  /** Sets (replacing any previous, state pending, offers 0) or clears the firmware target; throws not_found. */
  setFirmwareTarget(eui: string, target: NewFirmwareTarget | null): Promise<void>;
  /**
   * Sets firmware targets of several stations with their events in one transaction: all or none.
   * Throws not_found `station_not_found` (and changes nothing) when one is not registered.
   */
  setFirmwareTargets(
    targets: readonly { readonly eui: string; readonly target: NewFirmwareTarget; readonly events: readonly NewEvent[] }[],
    at: Date,
    faults?: FaultHook,
  ): Promise<void>;
  /**
   * Applies an operator's credential change in one transaction: locks the station, lets `plan` decide from
   * its twin and auth record as they are then (it may throw to refuse), writes the change. Throws not_found.
   */
  changeCredentials<T>(eui: string, plan: CredentialPlan<T>, at: Date, faults?: FaultHook): Promise<T>;
  /** Applies a firmware transition outside an exchange (e.g. retry: state pending, offers reset by `resetOffers`). */
  updateFirmware(eui: string, transition: FirmwareTransition & { readonly resetOffers?: boolean }): Promise<FirmwareTarget | null>;

  /** Registers a public signing key; throws conflict `signing_key_exists` for a known CRC. */
  addSigningKey(key: { readonly crc: number; readonly publicKey: string; readonly name: string | null }): Promise<SigningKey>;
  getSigningKey(crc: number): Promise<SigningKey | undefined>;
  listSigningKeys(): Promise<SigningKey[]>;
  /** Deletes a signing key; false when unknown; throws conflict `signing_key_in_use` while a not-yet-upgraded firmware target is signed by it. */
  removeSigningKey(crc: number): Promise<boolean>;
}
