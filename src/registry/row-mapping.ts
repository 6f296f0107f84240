import type { Insertable, Selectable, Updateable } from 'kysely';
import type {
  FirmwareSignature,
  FirmwareState,
  FirmwareTarget,
  FirmwareUpdate,
  NewEvent,
  NewFirmwareTarget,
  NewStation,
  ReportedState,
  SigningKey,
  Station,
  StationEvent,
  UnknownStation,
  DesiredConfig,
  CredentialRef,
  EventType,
} from './types.js';
import type {
  FirmwareTargetsTable,
  SigningKeysTable,
  StationEventsTable,
  StationsTable,
  UnknownStationsTable,
} from './db-schema.js';

// The one place that knows how columns become objects and back.

/** What recordUnknown is told about a knock. */
export interface UnknownSighting {
  readonly at: Date;
  readonly remoteAddress: string | null;
  readonly request: Readonly<Record<string, unknown>>;
}

/** What addSigningKey is given. */
export interface NewSigningKey {
  readonly crc: number;
  readonly publicKey: string;
  readonly name: string | null;
}

type StationRow = Selectable<StationsTable>;
type FirmwareRow = Selectable<FirmwareTargetsTable>;

/** pg hands BIGINT back as a string; SQLite as a number. */
export function num(value: number | string | bigint): number {
  return typeof value === 'number' ? value : Number(value);
}

export function date(value: number | string | bigint): Date {
  return new Date(num(value));
}

export function dateOrNull(value: number | string | bigint | null): Date | null {
  return value === null ? null : date(value);
}

export function millis(value: Date): number {
  return value.getTime();
}

export function toStation(row: StationRow, firmware: FirmwareRow | undefined): Station {
  return {
    eui: row.eui,
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    desired: {
      cupsUri: row.cups_uri,
      tcUri: row.tc_uri,
      cupsCred: credential(row.cups_cred_blob, row.cups_cred_crc, row.cups_cred_size),
      tcCred: credential(row.tc_cred_blob, row.tc_cred_crc, row.tc_cred_size),
    },
    reported: toReported(row),
    lastSeenAt: dateOrNull(row.last_seen_at),
    lastRemoteAddress: row.last_remote_address,
    problem: row.problem,
    firmware: firmware === undefined ? null : toFirmware(firmware),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

function credential(blob: string | null, crc: number | string | null, size: number | string | null): CredentialRef | null {
  if (blob === null || crc === null || size === null) return null;
  return { blob, crc: num(crc), size: num(size) };
}

/** A new station: what `input` gives, nulls for the rest, nothing reported yet. */
export function stationColumns(input: NewStation, now: Date): Insertable<StationsTable> {
  return {
    eui: input.eui,
    name: input.name ?? null,
    labels: JSON.stringify(input.labels ?? {}),
    ...desiredColumns(input.desired ?? {}),
    created_at: millis(now),
    updated_at: millis(now),
  };
}

export function toReported(row: StationRow): ReportedState | null {
  if (row.reported_at === null) return null;
  return {
    cupsUri: row.reported_cups_uri,
    tcUri: row.reported_tc_uri,
    cupsCredCrc: num(row.reported_cups_cred_crc ?? 0),
    tcCredCrc: num(row.reported_tc_cred_crc ?? 0),
    station: row.reported_station ?? '',
    model: row.reported_model ?? '',
    package: row.reported_package,
    keys: JSON.parse(row.reported_keys ?? '[]') as number[],
  };
}

/** The columns for the desired fields present in `desired`; absent fields are left out. */
export function desiredColumns(desired: Partial<DesiredConfig>): Updateable<StationsTable> {
  const out: Updateable<StationsTable> = {};
  if (desired.cupsUri !== undefined) out.cups_uri = desired.cupsUri;
  if (desired.tcUri !== undefined) out.tc_uri = desired.tcUri;
  if (desired.cupsCred !== undefined) {
    out.cups_cred_blob = desired.cupsCred?.blob ?? null;
    out.cups_cred_crc = desired.cupsCred?.crc ?? null;
    out.cups_cred_size = desired.cupsCred?.size ?? null;
  }
  if (desired.tcCred !== undefined) {
    out.tc_cred_blob = desired.tcCred?.blob ?? null;
    out.tc_cred_crc = desired.tcCred?.crc ?? null;
    out.tc_cred_size = desired.tcCred?.size ?? null;
  }
  return out;
}

export function reportedColumns(reported: ReportedState, at: Date): Updateable<StationsTable> {
  return {
    reported_cups_uri: reported.cupsUri,
    reported_tc_uri: reported.tcUri,
    reported_cups_cred_crc: reported.cupsCredCrc,
    reported_tc_cred_crc: reported.tcCredCrc,
    reported_station: reported.station,
    reported_model: reported.model,
    reported_package: reported.package,
    reported_keys: JSON.stringify(reported.keys),
    reported_at: millis(at),
  };
}

/** The update columns firmware_targets and firmware_packages share. */
export function toFirmwareUpdate(row: Pick<FirmwareRow, 'package' | 'blob' | 'size' | 'sha256' | 'signatures'>): FirmwareUpdate {
  return {
    package: row.package,
    blob: row.blob,
    size: num(row.size),
    sha256: row.sha256,
    signatures: JSON.parse(row.signatures) as FirmwareSignature[],
  };
}

export function toFirmware(row: FirmwareRow): FirmwareTarget {
  return {
    ...toFirmwareUpdate(row),
    state: row.state as FirmwareState,
    offers: num(row.offers),
    maxOffers: num(row.max_offers),
    fromPackage: row.from_package,
    requestedAt: date(row.requested_at),
    lastOfferedAt: dateOrNull(row.last_offered_at),
    upgradedAt: dateOrNull(row.upgraded_at),
    lastError: row.last_error,
  };
}

/** A fresh target (state pending, no offers, no outcome yet), all columns but the key. */
export function firmwareColumns(target: NewFirmwareTarget): Omit<Insertable<FirmwareTargetsTable>, 'eui'> {
  return {
    package: target.package,
    blob: target.blob,
    size: target.size,
    sha256: target.sha256,
    signatures: JSON.stringify(target.signatures.map((s) => ({ keyCrc: s.keyCrc, signature: s.signature }))),
    state: 'pending',
    offers: 0,
    max_offers: target.maxOffers,
    from_package: target.fromPackage,
    requested_at: millis(target.requestedAt),
    last_offered_at: null,
    upgraded_at: null,
    last_error: null,
  };
}

export function eventColumns(eui: string, event: NewEvent, at: Date): Insertable<StationEventsTable> {
  return {
    eui,
    at: millis(at),
    type: event.type,
    message: event.message,
    detail: event.detail === undefined ? null : JSON.stringify(event.detail),
  };
}

export function toEvent(row: Selectable<StationEventsTable>): StationEvent {
  const base = { id: num(row.id), eui: row.eui, at: date(row.at), type: row.type as EventType, message: row.message };
  // Only coalesced rows carry a count and first time; ordinary events keep their old shape.
  const coalesced = row.coalesce_key === null || row.coalesce_key === undefined ? {} : { count: num(row.repeat_count), firstAt: date(row.first_at ?? row.at) };
  return row.detail === null ? { ...base, ...coalesced } : { ...base, ...coalesced, detail: JSON.parse(row.detail) as Record<string, unknown> };
}

export function unknownColumns(eui: string, seen: UnknownSighting): Insertable<UnknownStationsTable> {
  return {
    eui,
    first_seen_at: millis(seen.at),
    last_seen_at: millis(seen.at),
    count: 1,
    last_remote_address: seen.remoteAddress,
    last_request: JSON.stringify(seen.request),
  };
}

export function toUnknown(row: Selectable<UnknownStationsTable>): UnknownStation {
  return {
    eui: row.eui,
    firstSeenAt: date(row.first_seen_at),
    lastSeenAt: date(row.last_seen_at),
    count: num(row.count),
    lastRemoteAddress: row.last_remote_address,
    lastRequest: JSON.parse(row.last_request) as Record<string, unknown>,
  };
}

export function signingKeyColumns(key: NewSigningKey, createdAt: Date): Insertable<SigningKeysTable> {
  return { crc: key.crc, public_key: key.publicKey, name: key.name, created_at: millis(createdAt) };
}

export function toSigningKey(row: Selectable<SigningKeysTable>): SigningKey {
  return { crc: num(row.crc), publicKey: row.public_key, name: row.name, createdAt: date(row.created_at) };
}
