import type { ColumnType, Generated } from 'kysely';

/**
 * Row shapes of the registry tables as Kysely sees them. Times are epoch
 * milliseconds and CRCs unsigned 32-bit values, both BIGINT in PostgreSQL, which
 * pg returns as strings: reads accept both, writes are numbers.
 */
type Int8 = ColumnType<number | string, number, number>;
type Int8Null = ColumnType<number | string | null, number | null, number | null>;

export interface StationsTable {
  eui: string;
  name: string | null;
  /** JSON object of string values. */
  labels: string;
  cups_uri: string | null;
  tc_uri: string | null;
  cups_cred_blob: string | null;
  cups_cred_crc: Int8Null;
  cups_cred_size: Int8Null;
  tc_cred_blob: string | null;
  tc_cred_crc: Int8Null;
  tc_cred_size: Int8Null;
  reported_cups_uri: string | null;
  reported_tc_uri: string | null;
  reported_cups_cred_crc: Int8Null;
  reported_tc_cred_crc: Int8Null;
  reported_station: string | null;
  reported_model: string | null;
  reported_package: string | null;
  /** JSON array of key CRCs. */
  reported_keys: string | null;
  /** Null until the first exchange: the marker for "nothing reported yet". */
  reported_at: Int8Null;
  last_seen_at: Int8Null;
  last_remote_address: string | null;
  problem: string | null;
  created_at: Int8;
  updated_at: Int8;
}

export interface FirmwareTargetsTable {
  eui: string;
  package: string;
  blob: string;
  size: Int8;
  sha256: string;
  /** JSON array of { keyCrc, signature }. */
  signatures: string;
  state: string;
  offers: number;
  max_offers: number;
  from_package: string | null;
  requested_at: Int8;
  last_offered_at: Int8Null;
  upgraded_at: Int8Null;
  last_error: string | null;
}

export interface StationEventsTable {
  id: Generated<number | string>;
  eui: string;
  at: Int8;
  type: string;
  message: string;
  /** JSON object, or null when the event had no detail. */
  detail: string | null;
  /** How many occurrences the row stands for (coalesced refusals; 1 otherwise). */
  repeat_count: ColumnType<number, number | undefined, number>;
  /** First occurrence of a coalesced row (`at` is the last); null for ordinary events. */
  first_at: Int8Null;
  /** Station-unique key of a coalesced row (kind and source); null for ordinary events. */
  coalesce_key: string | null;
}

export interface UnknownStationsTable {
  eui: string;
  first_seen_at: Int8;
  last_seen_at: Int8;
  count: number;
  last_remote_address: string | null;
  /** JSON object: the last request as received. */
  last_request: string;
}

export interface SigningKeysTable {
  crc: Int8;
  public_key: string;
  name: string | null;
  created_at: Int8;
}

export interface StationAuthTable {
  eui: string;
  mode: string;
  updated_at: Int8;
}

export interface StationCertificatesTable {
  eui: string;
  /** SHA-256 of the DER certificate, lowercase hex. */
  fingerprint: string;
  category: string;
  status: string;
  cred_crc: Int8;
  not_after: Int8Null;
  created_at: Int8;
  retired_at: Int8Null;
  retired_reason: string | null;
}

export interface StationTokensTable {
  id: string;
  eui: string;
  /** SHA-256 of the token secret, lowercase hex; never the secret. */
  hash: string;
  category: string;
  status: string;
  cred_crc: Int8;
  created_at: Int8;
  retired_at: Int8Null;
  retired_reason: string | null;
  /** When the token was seen in clear (sent over plain HTTP); null while never exposed. */
  compromised_at: Int8Null;
  compromised_reason: string | null;
}

export interface StationRotationsTable {
  eui: string;
  category: string;
  new_crc: Int8;
  target_mode: string | null;
  started_at: Int8;
}

export interface StationLabelsTable {
  eui: string;
  key: string;
  value: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  /** SHA-256 of the key's secret part, lowercase hex; never the key. */
  hash: string;
  created_at: Int8;
  created_by: string | null;
  expires_at: Int8Null;
  revoked_at: Int8Null;
}

export interface AuditLogTable {
  id: Generated<number | string>;
  at: Int8;
  actor: string;
  actor_key_id: string | null;
  role: string;
  via: string;
  remote_address: string | null;
  action: string;
  target: string | null;
  /** JSON object, never secrets. */
  detail: string | null;
}

export interface RegistryDatabase {
  stations: StationsTable;
  firmware_targets: FirmwareTargetsTable;
  station_events: StationEventsTable;
  unknown_stations: UnknownStationsTable;
  signing_keys: SigningKeysTable;
  station_auth: StationAuthTable;
  station_certificates: StationCertificatesTable;
  station_tokens: StationTokensTable;
  station_rotations: StationRotationsTable;
  station_labels: StationLabelsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
}
