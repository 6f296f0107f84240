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
