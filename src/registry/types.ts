/**
 * The station registry: one record ("twin") per station with what the operator
 * wants (desired) and what the station last said (reported), an event history,
 * the firmware target with its upgrade tracking, the EUIs that knocked without
 * being registered, and the public signing keys uploads are checked against.
 */

import type { FaultHook } from '../core/fault-hook.js';
import type { AuditFor } from './audit-row.js';
import type { CredentialPlan, StationAuthStore } from './auth-types.js';
import type { StationEventStore } from './event-types.js';
import type { HealthOutcome } from './health/record-health.js';
import type { GuardOutcome } from './revert/station-revert.js';
import type {
  DesiredConfig,
  ExchangeRecord,
  FirmwareTarget,
  FirmwareTransition,
  FirmwareUpdate,
  NewEvent,
  Station,
  StationEvent,
} from '../core/model.js';

// The model lives in the core, which decides over it; re-exported so importers of the registry keep working.
export type {
  CredentialRef,
  DesiredConfig,
  EventType,
  ExchangeRecord,
  FirmwareSignature,
  FirmwareState,
  FirmwareTarget,
  FirmwareTransition,
  FirmwareUpdate,
  NewEvent,
  ReportedState,
  Station,
  StationEvent,
} from '../core/model.js';

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
  /**
   * With a desired TC URI: put the one the station had back if its health turns
   * lns_failing once the new one is delivered (registry/revert/station-revert.ts);
   * `by` names who asked. A TC URI set without it drops an earlier guard.
   */
  readonly revertUnhealthy?: { readonly by: string };
}

export interface ExchangeResult {
  /** Whether the stored reported state changed. */
  readonly reportedChanged: boolean;
  /** The firmware target after the transition (null when none, or the package no longer matched). */
  readonly firmware: FirmwareTarget | null;
  /** What the exchange did to the station's health, when the record asked for it to be decided. */
  readonly health?: HealthOutcome;
  /** A --revert-unhealthy guard this exchange acted on: the TC URI put back, or the guard cleared. */
  readonly revert?: GuardOutcome;
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

/** A firmware target as set: the update, plus the offer limit and where the station started; the registry tracks the rest. */
export type NewFirmwareTarget = FirmwareUpdate & Pick<FirmwareTarget, 'maxOffers' | 'fromPackage' | 'requestedAt'>;

/**
 * Every operator write takes `audit`: the audit row it writes in its own
 * transaction (audit-row.ts). It is optional here for tests and the server's own
 * bookkeeping; operations see these writes through OperatorStores
 * (operator-stores.ts), where it is required.
 */
/** The registry also keeps what authentication needs, read apart from the twin (see auth-types.ts). */
export interface StationRegistry extends StationAuthStore, StationEventStore {
  /** Creates or upgrades the schema; safe when many processes start at once. */
  migrate(): Promise<void>;
  /** One cheap round trip to the database; throws `unavailable` when it cannot. */
  ping(): Promise<void>;
  /** Releases connections; the registry is unusable afterwards. */
  close(): Promise<void>;

  /** Registers a station; throws conflict `station_exists` when the EUI is taken. */
  createStation(input: NewStation, audit?: AuditFor<Station>): Promise<Station>;
  /** The station, or undefined when not registered. */
  getStation(eui: string): Promise<Station | undefined>;
  /** All stations ordered by EUI, optionally only those carrying every given label. */
  listStations(filter?: { readonly labels?: Readonly<Record<string, string>> }): Promise<Station[]>;
  /** Applies a patch; throws not_found `station_not_found`. */
  updateStation(eui: string, patch: StationPatch, audit?: AuditFor<Station>): Promise<Station>;
  /** Deletes the station with its events and firmware target; false when it did not exist. */
  removeStation(eui: string, audit?: AuditFor<boolean>): Promise<boolean>;

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
  /** A page of unregistered EUIs, most recent first; nextCursor continues it (invalid_cursor for one from another listing). */
  listUnknownPage(query: { readonly limit: number; readonly cursor?: string | undefined }): Promise<{ items: UnknownStation[]; nextCursor: string | null }>;

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
    audit?: AuditFor<void>,
  ): Promise<void>;
  /**
   * Applies an operator's credential change in one transaction: locks the station, lets `plan` decide from
   * its twin and auth record as they are then (it may throw to refuse), writes the change. Throws not_found.
   */
  changeCredentials<T>(eui: string, plan: CredentialPlan<T>, at: Date, faults?: FaultHook, audit?: AuditFor<T>): Promise<T>;
  /** Applies a firmware transition outside an exchange (e.g. retry: state pending, offers reset by `resetOffers`). */
  updateFirmware(eui: string, transition: FirmwareTransition & { readonly resetOffers?: boolean }, audit?: AuditFor<FirmwareTarget | null>): Promise<FirmwareTarget | null>;

  /** Registers a public signing key; throws conflict `signing_key_exists` for a known CRC. */
  addSigningKey(key: { readonly crc: number; readonly publicKey: string; readonly name: string | null }, audit?: AuditFor<SigningKey>): Promise<SigningKey>;
  getSigningKey(crc: number): Promise<SigningKey | undefined>;
  listSigningKeys(): Promise<SigningKey[]>;
  /** Deletes a signing key; false when unknown; throws conflict `signing_key_in_use` while a not-yet-upgraded firmware target is signed by it. */
  removeSigningKey(crc: number, audit?: AuditFor<boolean>): Promise<boolean>;
}
