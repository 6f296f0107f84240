import type { Kysely } from 'kysely';
import { conflict } from '../core/errors.js';
import type { RegistryDatabase } from './db-schema.js';
import { isUniqueViolation } from './db-errors.js';
import { signingKeyColumns, toSigningKey, type NewSigningKey } from './row-mapping.js';
import type { SigningKey } from './types.js';

/** Inserts a key; the primary key on the CRC turns a second registration into a conflict. */
export async function insertSigningKey(
  db: Kysely<RegistryDatabase>,
  key: NewSigningKey,
  createdAt: Date,
): Promise<SigningKey> {
  try {
    const row = await db
      .insertInto('signing_keys')
      .values(signingKeyColumns(key, createdAt))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSigningKey(row);
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    throw conflict(
      'signing_key_exists',
      `A signing key with CRC ${key.crc} is already registered; remove it first or use a different key.`,
      { crc: key.crc },
    );
  }
}

export async function selectSigningKey(db: Kysely<RegistryDatabase>, crc: number): Promise<SigningKey | undefined> {
  const row = await db.selectFrom('signing_keys').selectAll().where('crc', '=', crc).executeTakeFirst();
  return row === undefined ? undefined : toSigningKey(row);
}

/** Oldest first, so the order keys were registered in is kept. */
export async function selectSigningKeys(db: Kysely<RegistryDatabase>): Promise<SigningKey[]> {
  const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('crc').execute();
  return rows.map(toSigningKey);
}

/**
 * Deletes a key, refused with conflict `signing_key_in_use` while a firmware target
 * that is not yet upgraded carries a signature by it (a pending, offered or failed
 * upgrade may still be sent or retried). False when no key has that CRC. Run it
 * in a transaction, so the check and the delete see one state.
 */
export async function deleteSigningKey(trx: Kysely<RegistryDatabase>, crc: number): Promise<boolean> {
  // LIKE narrows on the stored JSON ({"keyCrc":N,...}); the parse below decides.
  const candidates = await trx
    .selectFrom('firmware_targets')
    .select(['eui', 'signatures'])
    .where('state', '!=', 'upgraded')
    .where('signatures', 'like', `%"keyCrc":${crc},%`)
    .orderBy('eui')
    .execute();
  const users = candidates
    .filter((row) => (JSON.parse(row.signatures) as { keyCrc: number }[]).some((s) => s.keyCrc === crc))
    .map((row) => row.eui);
  if (users.length > 0) {
    const shown = users.slice(0, 5).join(', ') + (users.length > 5 ? `, and ${users.length - 5} more` : '');
    throw conflict(
      'signing_key_in_use',
      `Signing key ${crc} signs the firmware target of ${users.length} station(s) not yet upgraded (${shown}); ` +
        'remove it once they report the new package, or after targeting them with firmware signed by another key.',
      { crc, stations: users },
    );
  }
  const result = await trx.deleteFrom('signing_keys').where('crc', '=', crc).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
