import type { Kysely, Selectable } from 'kysely';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { RegistryDatabase, StationCertificatesTable, StationRotationsTable, StationTokensTable } from './db-schema.js';
import { isUniqueViolation } from './db-errors.js';
import { eventColumns, millis, num } from './row-mapping.js';
import {
  STATION_AUTH_MODES,
  type CompletedRotation,
  type CredentialCategory,
  type CredentialStatus,
  type NewRotation,
  type NewStationCertificate,
  type NewStationToken,
  type PendingRotation,
  type StationAuth,
  type StationAuthMode,
  type StationCertificate,
  type StationToken,
} from './auth-types.js';

// The queries behind StationAuthStore; KyselyRegistry wraps each in its error translation.

type Db = Kysely<RegistryDatabase>;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const TOKEN_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Every token column but the hash, which never leaves the registry. */
const TOKEN_COLUMNS = ['id', 'eui', 'category', 'status', 'cred_crc', 'created_at', 'retired_at', 'retired_reason', 'compromised_at', 'compromised_reason'] as const;

export async function selectStationAuth(db: Db, eui: string): Promise<StationAuth | undefined> {
  const [station, certificates, tokens, rotations] = await Promise.all([
    db
      .selectFrom('stations')
      .leftJoin('station_auth', 'station_auth.eui', 'stations.eui')
      .select(['stations.eui as eui', 'station_auth.mode as mode'])
      .where('stations.eui', '=', eui)
      .executeTakeFirst(),
    db.selectFrom('station_certificates').selectAll().where('eui', '=', eui).orderBy('created_at').orderBy('fingerprint').execute(),
    db
      .selectFrom('station_tokens')
      .select(TOKEN_COLUMNS)
      .where('eui', '=', eui)
      .orderBy('created_at')
      .orderBy('id')
      .execute(),
    db.selectFrom('station_rotations').selectAll().where('eui', '=', eui).orderBy('category').execute(),
  ]);
  if (station === undefined) return undefined;
  return {
    eui: station.eui,
    mode: (station.mode ?? 'none') as StationAuthMode,
    certificates: certificates.map(toCertificate),
    tokens: tokens.map(toToken),
    rotations: rotations.map(toRotation),
  };
}

export async function selectTokenByHash(db: Db, hash: string): Promise<StationToken | undefined> {
  if (!SHA256_HEX.test(hash)) return undefined;
  const row = await db
    .selectFrom('station_tokens')
    .select(TOKEN_COLUMNS)
    .where('hash', '=', hash)
    .executeTakeFirst();
  return row === undefined ? undefined : toToken(row);
}

export async function upsertAuthMode(db: Db, eui: string, mode: StationAuthMode, at: Date): Promise<void> {
  validateMode(mode, 'mode');
  await assertStation(db, eui);
  await db
    .insertInto('station_auth')
    .values({ eui, mode, updated_at: millis(at) })
    .onConflict((oc) => oc.column('eui').doUpdateSet({ mode, updated_at: millis(at) }))
    .execute();
}

export async function insertCertificate(db: Db, eui: string, cert: NewStationCertificate, at: Date): Promise<void> {
  if (!SHA256_HEX.test(cert.fingerprint)) {
    throw invalid('invalid_fingerprint', 'fingerprint must be the SHA-256 of the DER certificate as 64 lowercase hex digits.', { field: 'fingerprint' });
  }
  validateCategory(cert.category);
  validateCrc(cert.credCrc);
  await assertStation(db, eui);
  try {
    await db
      .insertInto('station_certificates')
      .values({
        eui,
        fingerprint: cert.fingerprint,
        category: cert.category,
        status: 'active',
        cred_crc: cert.credCrc,
        not_after: cert.notAfter === null ? null : millis(cert.notAfter),
        created_at: millis(at),
        retired_at: null,
        retired_reason: null,
      })
      .execute();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    throw conflict('certificate_exists', `Certificate ${cert.fingerprint} is already registered for station ${eui}.`, { eui });
  }
}

export async function insertToken(db: Db, eui: string, token: NewStationToken, at: Date): Promise<void> {
  if (!TOKEN_ID.test(token.id)) {
    throw invalid('invalid_token_id', 'token id must be 1 to 64 characters of A-Z a-z 0-9 _ -.', { field: 'id' });
  }
  if (!SHA256_HEX.test(token.hash)) {
    throw invalid('invalid_token_hash', 'hash must be the SHA-256 of the token secret as 64 lowercase hex digits.', { field: 'hash' });
  }
  validateCategory(token.category);
  validateCrc(token.credCrc);
  await assertStation(db, eui);
  try {
    await db
      .insertInto('station_tokens')
      .values({
        id: token.id,
        eui,
        hash: token.hash,
        category: token.category,
        status: 'active',
        cred_crc: token.credCrc,
        created_at: millis(at),
        retired_at: null,
        retired_reason: null,
      })
      .execute();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    throw conflict('token_exists', `A token with id ${token.id} or the same secret already exists; issue a new one.`, { id: token.id });
  }
}

export async function retireCertificateRow(db: Db, eui: string, fingerprint: string, reason: string, at: Date): Promise<boolean> {
  const row = await db.selectFrom('station_certificates').select('status').where('eui', '=', eui).where('fingerprint', '=', fingerprint).executeTakeFirst();
  if (row === undefined) {
    throw notFound('certificate_not_found', `Station ${eui} has no certificate with fingerprint ${fingerprint}; see "bscups station auth ${eui}".`, { eui });
  }
  const result = await db
    .updateTable('station_certificates')
    .set({ status: 'retired', retired_at: millis(at), retired_reason: reason })
    .where('eui', '=', eui)
    .where('fingerprint', '=', fingerprint)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function retireTokenRow(db: Db, eui: string, id: string, reason: string, at: Date): Promise<boolean> {
  const row = await db.selectFrom('station_tokens').select('status').where('eui', '=', eui).where('id', '=', id).executeTakeFirst();
  if (row === undefined) {
    throw notFound('token_not_found', `Station ${eui} has no token with id ${id}; see "bscups station auth ${eui}".`, { eui });
  }
  const result = await db
    .updateTable('station_tokens')
    .set({ status: 'retired', retired_at: millis(at), retired_reason: reason })
    .where('eui', '=', eui)
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function upsertRotation(db: Db, eui: string, rotation: NewRotation, at: Date): Promise<void> {
  validateCategory(rotation.category);
  validateCrc(rotation.newCrc);
  if (rotation.targetMode !== null) validateMode(rotation.targetMode, 'targetMode');
  await assertStation(db, eui);
  const columns = { new_crc: rotation.newCrc, target_mode: rotation.targetMode, started_at: millis(at) };
  await db
    .insertInto('station_rotations')
    .values({ eui, category: rotation.category, ...columns })
    .onConflict((oc) => oc.columns(['eui', 'category']).doUpdateSet(columns))
    .execute();
}

export async function deleteRotation(db: Db, eui: string, category: CredentialCategory): Promise<boolean> {
  const result = await db.deleteFrom('station_rotations').where('eui', '=', eui).where('category', '=', category).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Completes a rotation; `trx` must be a transaction. Deleting the rotation row
 * is the claim: of two exchanges completing at once, only the one whose delete
 * matched goes on to retire and record.
 */
export async function finishRotation(
  trx: Db,
  eui: string,
  completion: { readonly category: CredentialCategory; readonly newCrc: number },
  at: Date,
): Promise<CompletedRotation | undefined> {
  const { category, newCrc } = completion;
  const claimed = await trx
    .deleteFrom('station_rotations')
    .where('eui', '=', eui)
    .where('category', '=', category)
    .where('new_crc', '=', newCrc)
    .returning('target_mode')
    .executeTakeFirst();
  if (claimed === undefined) return undefined;

  const retire = { status: 'retired', retired_at: millis(at), retired_reason: 'rotated' } as const;
  const certs = await trx
    .updateTable('station_certificates')
    .set(retire)
    .where('eui', '=', eui)
    .where('category', '=', category)
    .where('status', '=', 'active')
    .where('cred_crc', '!=', newCrc)
    .returning('fingerprint')
    .execute();
  const tokens = await trx
    .updateTable('station_tokens')
    .set(retire)
    .where('eui', '=', eui)
    .where('category', '=', category)
    .where('status', '=', 'active')
    .where('cred_crc', '!=', newCrc)
    .returning('id')
    .execute();
  const mode = claimed.target_mode === null ? null : (claimed.target_mode as StationAuthMode);
  if (mode !== null) await upsertAuthMode(trx, eui, mode, at);

  const done: CompletedRotation = {
    category,
    newCrc,
    retiredCertificates: certs.map((c) => c.fingerprint),
    retiredTokens: tokens.map((t) => t.id),
    mode,
  };
  const retired = [...done.retiredCertificates.map((f) => `certificate ${f.slice(0, 16)}…`), ...done.retiredTokens.map((id) => `token ${id}`)];
  await trx
    .insertInto('station_events')
    .values(
      eventColumns(
        eui,
        {
          type: 'auth',
          message: `${category} credential rotation complete: station reports crc ${newCrc}` +
            (retired.length > 0 ? `; retired ${retired.join(', ')}` : '') +
            (mode !== null ? `; auth mode ${mode}` : ''),
          detail: { ...done },
        },
        at,
      ),
    )
    .execute();
  return done;
}

async function assertStation(db: Db, eui: string): Promise<void> {
  const row = await db.selectFrom('stations').select('eui').where('eui', '=', eui).executeTakeFirst();
  if (row === undefined) {
    throw notFound('station_not_found', `Station ${eui} is not registered; check the EUI or register the station first.`, { eui });
  }
}

function validateMode(mode: string, field: string): void {
  if (!(STATION_AUTH_MODES as readonly string[]).includes(mode)) {
    throw invalid('invalid_auth_mode', `${field} must be one of ${STATION_AUTH_MODES.join(', ')}, got "${mode}".`, { field });
  }
}

function validateCategory(category: string): void {
  if (category !== 'cups' && category !== 'tc') {
    throw invalid('invalid_category', `category must be cups or tc, got "${category}".`, { field: 'category' });
  }
}

function validateCrc(crc: number): void {
  if (!Number.isInteger(crc) || crc < 0 || crc > 0xffffffff) {
    throw invalid('invalid_crc', `credential CRC must be an unsigned 32-bit integer, got ${crc}.`, { field: 'credCrc' });
  }
}

function dateOrNull(value: number | string | null): Date | null {
  return value === null ? null : new Date(num(value));
}

export function toCertificate(row: Selectable<StationCertificatesTable>): StationCertificate {
  return {
    fingerprint: row.fingerprint,
    category: row.category as CredentialCategory,
    status: row.status as CredentialStatus,
    credCrc: num(row.cred_crc),
    notAfter: dateOrNull(row.not_after),
    createdAt: new Date(num(row.created_at)),
    retiredAt: dateOrNull(row.retired_at),
    retiredReason: row.retired_reason,
  };
}

export function toToken(row: Omit<Selectable<StationTokensTable>, 'hash'>): StationToken {
  return {
    id: row.id,
    eui: row.eui,
    category: row.category as CredentialCategory,
    status: row.status as CredentialStatus,
    credCrc: num(row.cred_crc),
    createdAt: new Date(num(row.created_at)),
    retiredAt: dateOrNull(row.retired_at),
    retiredReason: row.retired_reason,
    // Only an exposed token carries these, so a record reads as before for every other.
    ...(row.compromised_at === null || row.compromised_at === undefined
      ? {}
      : { compromisedAt: dateOrNull(row.compromised_at), compromisedReason: row.compromised_reason }),
  };
}

export function toRotation(row: Selectable<StationRotationsTable>): PendingRotation {
  return {
    category: row.category as CredentialCategory,
    newCrc: num(row.new_crc),
    targetMode: row.target_mode === null ? null : (row.target_mode as StationAuthMode),
    startedAt: new Date(num(row.started_at)),
  };
}
