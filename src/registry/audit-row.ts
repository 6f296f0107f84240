import type { Kysely } from 'kysely';
import type { NewAuditEntry } from './access-types.js';
import type { RegistryDatabase } from './db-schema.js';
import { millis } from './row-mapping.js';

/**
 * The audit row an operator's (or the engine's) write records. It is written by
 * the store, in the transaction of the change it records, so a crash leaves
 * both or neither. A function receives the write's result, for a detail only
 * known once the change is made (a rotation's new CRC, a rollback's counts);
 * it returns null when the write turned out to change nothing worth a row.
 */
export type AuditFor<T> = NewAuditEntry | ((result: T) => NewAuditEntry | null);

type Db = Kysely<RegistryDatabase>;

/** Inserts one audit row on `db` (a transaction when it records a change). */
export async function insertAuditRow(db: Db, entry: NewAuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: millis(entry.at),
      actor: entry.actor,
      actor_key_id: entry.actorKeyId,
      role: entry.role,
      via: entry.via,
      remote_address: entry.remoteAddress,
      action: entry.action,
      target: entry.target,
      detail: entry.detail === null ? null : JSON.stringify(entry.detail),
    })
    .execute();
}

/** Writes the audit row of a change whose result is `result`, on the change's transaction `trx`. */
export async function writeAudit<DB extends RegistryDatabase, T>(trx: Kysely<DB>, audit: AuditFor<T> | undefined, result: T): Promise<void> {
  if (audit === undefined) return;
  const entry = typeof audit === 'function' ? audit(result) : audit;
  // Stores with more tables (rollouts) are a wider view of the same database.
  if (entry !== null) await insertAuditRow(trx as unknown as Db, entry);
}

/**
 * Runs `work` in one transaction and writes its audit row there, after the
 * change: the row commits with the change or not at all. Without `audit` (tests,
 * the station's own exchanges) it is just a transaction.
 */
export function auditedTransaction<DB extends RegistryDatabase, T>(
  db: Kysely<DB>,
  audit: AuditFor<T> | undefined,
  work: (trx: Kysely<DB>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const result = await work(trx);
    await writeAudit(trx, audit, result);
    return result;
  });
}
