import type { AuditFor } from './audit-row.js';
import type { SyncState } from '../core/sync-status.js';
import type { HealthState } from '../core/health.js';
import type { ComplianceState, ModelCompliance, StationCompliance } from '../core/compliance.js';
import type { HealthReadingQuery } from './health/health-sql.js';
import type { EventType, FirmwareState, Station, StationEvent } from './types.js';
import type { ProvisionedStation, ProvisioningPlan } from './provisioning-types.js';
import type { ExpiringStation, StationCertificateSummary } from './certificates/expiry-types.js';

/**
 * Listings and aggregates over the whole fleet, answered in SQL so they scale to
 * hundreds of thousands of stations. Pages are keyset-paged: a cursor names the
 * last row of the previous page, so a page costs the same wherever it starts.
 */

/** `k=v` (eq), `k!=v` (ne: also stations without k), `k` (exists), `!k` (absent). */
export interface LabelSelector {
  readonly key: string;
  readonly op: 'eq' | 'ne' | 'exists' | 'absent';
  /** Required for eq and ne. */
  readonly value?: string;
}

export const STATION_SORTS = ['eui', 'name', 'lastSeen'] as const;
export type StationSort = (typeof STATION_SORTS)[number];

export interface StationQuery {
  /** All must hold. */
  readonly labels?: readonly LabelSelector[];
  /** Any of these states (see core/sync-status.ts syncState). */
  readonly states?: readonly SyncState[];
  /** Only stations seen at least once and not since this instant. */
  readonly silentSince?: Date;
  /** Only stations whose gateway health, read at `reading.now`, is one of `states`. */
  readonly health?: { readonly states: readonly HealthState[]; readonly reading: HealthReadingQuery };
  /** Exact reported model. */
  readonly model?: string;
  /** Exact reported package (version.txt). */
  readonly package?: string;
  /** Prefix of the reported station version, e.g. `2.0.6`. */
  readonly stationVersion?: string;
  /** Only stations whose registry row (updated_at) or reported state (reported_at) changed at or after this instant. */
  readonly changedSince?: Date;
  /** Case-insensitive substring of the EUI or the name. */
  readonly text?: string;
  /** Only stations with an active CUPS client certificate that expires before this instant (expired ones included). */
  readonly certExpiringBefore?: Date;
  /** Any of these firmware compliance states (core/compliance.ts), against the library as it is when the page is read. */
  readonly compliance?: readonly ComplianceState[];
  readonly sort?: StationSort;
  readonly descending?: boolean;
  /** Page size, 1..1000. */
  readonly limit: number;
  /** nextCursor of the previous page with the same sort. */
  readonly cursor?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back to get the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface CountBy {
  /** null: not reported (never seen, or the station sent none). */
  readonly value: string | null;
  readonly count: number;
}

export interface FleetSummary {
  readonly total: number;
  readonly byState: Readonly<Record<SyncState, number>>;
  /** Seen at least once, not since `silentSince`. */
  readonly silent: number;
  readonly silentSince: Date;
  /** Most common first. */
  readonly byPackage: readonly CountBy[];
  readonly byModel: readonly CountBy[];
  /** Firmware targets (upgrades) by state. */
  readonly upgrades: Readonly<Record<FirmwareState, number>>;
  /** Stations by gateway health (core/health.ts) at the time of the summary. */
  readonly byHealth: Readonly<Record<HealthState, number>>;
  /** Firmware compliance per model against the newest library package for it (core/compliance.ts). */
  readonly compliance: readonly ModelCompliance[];
}

export interface EventQuery {
  /** One station's events; all stations when absent. */
  readonly eui?: string;
  readonly types?: readonly EventType[];
  /** Inclusive. */
  readonly since?: Date;
  /** Exclusive. */
  readonly until?: Date;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** Fleet-wide reads; a port of its own so the hot path's registry stays small. */
export interface FleetStore {
  /** One page of stations matching every filter given; throws invalid_argument for a bad cursor or limit. */
  queryStations(query: StationQuery): Promise<Page<Station>>;
  /** How many stations match every filter given (sort, limit and cursor are ignored). */
  countStations(query: Omit<StationQuery, 'limit' | 'cursor'>): Promise<number>;
  /** Counts from SQL aggregates; never loads the stations. */
  summarizeFleet(options: { readonly silentSince: Date; readonly health?: HealthReadingQuery }): Promise<FleetSummary>;
  /** One station's firmware compliance against the library as it is now; undefined when not registered. */
  stationCompliance(eui: string): Promise<StationCompliance | undefined>;
  /** Events, most recent first. */
  queryEvents(query: EventQuery): Promise<Page<StationEvent>>;
  /** Bulk provisioning: registered stations' provisioning fields by EUI, `limit` of them after `after` (exclusive). */
  exportStations(after: string | null, limit: number): Promise<ProvisionedStation[]>;
  /** Bulk provisioning: those of `euis` that are registered, read without a lock (a dry run's view). */
  /** With `credentials`, also which CUPS credentials each holds (what an import checks a mode against). */
  readProvisioned(euis: readonly string[], options?: { readonly credentials?: boolean }): Promise<ProvisionedStation[]>;
  /** Bulk provisioning: one batch decided by `plan` and written in one transaction, all of it or none. */
  provisionStations<T>(euis: readonly string[], plan: ProvisioningPlan<T>, at: Date, audit?: AuditFor<T>): Promise<T>;
  /** Stations' CUPS client certificate lifetimes counted at `now` (registry/certificates/). */
  summarizeStationCertificates(now: Date): Promise<StationCertificateSummary>;
  /** Stations in mtls mode, no CUPS rotation pending, whose certificate expires in [from, before); soonest first. */
  findRenewalCandidates(range: { readonly from: Date; readonly before: Date; readonly limit: number }): Promise<ExpiringStation[]>;
}
