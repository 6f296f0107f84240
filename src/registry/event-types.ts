import type { FirmwareTarget, NewEvent } from './types.js';

/**
 * How much station history the registry keeps. Refusals are coalesced (one row
 * per reason and source) and capped apart from the rest, so a flood of refused
 * requests can neither grow the database nor push a station's real history out.
 */
export interface EventRetention {
  /** Events older than this (by their last occurrence) are deleted. */
  readonly maxAgeMs: number;
  /** Ordinary events kept per station, newest first. */
  readonly perStation: number;
  /** Coalesced refusal rows kept per station, most recently repeated first. */
  readonly refusalRowsPerStation: number;
  /** Unregistered EUIs kept (one row each); a new one beyond this evicts the longest silent. Default DEFAULT_UNKNOWN_STATIONS. */
  readonly unknownStations?: number;
}

export const DEFAULT_UNKNOWN_STATIONS = 10_000;

export const DEFAULT_RETENTION: EventRetention = Object.freeze({
  maxAgeMs: 90 * 86_400_000,
  perStation: 1000,
  refusalRowsPerStation: 100,
  unknownStations: DEFAULT_UNKNOWN_STATIONS,
});

/** A refused request for a registered station, recorded as one coalesced row per (station, code, source). */
export interface Refusal {
  /** Stable reason code (e.g. token_invalid, credentials_required). */
  readonly code: string;
  /** Where it came from (the remote address), null when unknown. */
  readonly source: string | null;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** What the end of a firmware download changes: the offer count (only when complete) and events. */
export interface FirmwareDelivery {
  readonly at: Date;
  /**
   * The package whose offer is counted (the whole update was written), or undefined when the
   * download was cut off. Counting never moves a target back: one the station already reported
   * as upgraded (its next exchange can beat this record) stays upgraded.
   */
  readonly offered?: string;
  /**
   * The update sent was not the one uploaded (its bytes failed the SHA-256 check
   * while streaming): the target of `package` becomes failed with `lastError`,
   * so it is not offered again until the update is stored again and retried.
   */
  readonly broken?: { readonly package: string; readonly lastError: string };
  readonly events: readonly NewEvent[];
}

/** The parts of the registry that bound and coalesce station history. */
export interface StationEventStore {
  /**
   * Records a refusal: a new row for a new (code, source), else the existing row's
   * count and last time go up. False when the station is not registered.
   */
  recordRefusal(eui: string, refusal: Refusal, at: Date): Promise<boolean>;
  /** Records how a firmware download ended, in one transaction; the target after it (null when gone). */
  recordFirmwareDelivery(eui: string, delivery: FirmwareDelivery): Promise<FirmwareTarget | null>;
  /** Applies the retention bounds to every station; returns how many rows were deleted. */
  pruneEvents(now: Date): Promise<number>;
}
