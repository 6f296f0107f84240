import type { Kysely } from 'kysely';
import type { FaultHook } from '../core/fault-hook.js';
import { notFound } from '../core/errors.js';
import type { CredentialPlan, StationAuth } from './auth-types.js';
import type { RegistryDatabase } from './db-schema.js';
import { desiredColumns, eventColumns, millis, toStation } from './row-mapping.js';
import {
  deleteRotation,
  insertCertificate,
  insertToken,
  retireCertificateRow,
  retireTokenRow,
  selectStationAuth,
  upsertAuthMode,
  upsertRotation,
} from './station-auth.js';
import type { Station } from './types.js';

type Db = Kysely<RegistryDatabase>;

/**
 * Runs one credential change inside `trx` (a transaction). The station row is
 * written first so the database locks it: a concurrent exchange or operator
 * action waits, and the plan decides on the state it will change, not on a
 * read that may be stale by the time it writes.
 */
export async function applyCredentialChange<T>(
  trx: Db,
  eui: string,
  plan: CredentialPlan<T>,
  at: Date,
  faults: FaultHook | undefined,
): Promise<T> {
  const now = millis(at);
  const locked = await trx.updateTable('stations').set({ updated_at: now }).where('eui', '=', eui).executeTakeFirst();
  if (locked.numUpdatedRows === 0n) {
    throw notFound('station_not_found', `Station ${eui} is not registered; check the EUI or register the station first.`, { eui });
  }
  const current = await loadCurrent(trx, eui);
  const { change, result } = plan(current);
  const step = async (name: string) => faults?.(`registry:${name}`);

  for (const c of change.addCertificates ?? []) await insertCertificate(trx, eui, c, at);
  for (const t of change.addTokens ?? []) await insertToken(trx, eui, t, at);
  await step('credentials-added');
  for (const c of change.retireCertificates ?? []) await retireCertificateRow(trx, eui, c.fingerprint, c.reason, at);
  for (const t of change.retireTokens ?? []) await retireTokenRow(trx, eui, t.id, t.reason, at);
  await step('credentials-retired');
  if (change.desired !== undefined) {
    await trx.updateTable('stations').set(desiredColumns(change.desired)).where('eui', '=', eui).execute();
  }
  await step('desired-set');
  for (const category of change.cancelRotations ?? []) await deleteRotation(trx, eui, category);
  for (const r of change.startRotations ?? []) await upsertRotation(trx, eui, r, at);
  await step('rotations-set');
  if (change.mode !== undefined) await upsertAuthMode(trx, eui, change.mode, at);
  await step('mode-set');
  const events = change.events ?? [];
  if (events.length > 0) await trx.insertInto('station_events').values(events.map((e) => eventColumns(eui, e, at))).execute();
  await step('events-written');
  return result;
}

async function loadCurrent(trx: Db, eui: string): Promise<{ station: Station; auth: StationAuth }> {
  const row = await trx.selectFrom('stations').selectAll().where('eui', '=', eui).executeTakeFirstOrThrow();
  const firmware = await trx.selectFrom('firmware_targets').selectAll().where('eui', '=', eui).executeTakeFirst();
  const auth = (await selectStationAuth(trx, eui)) as StationAuth;
  return { station: toStation(row, firmware), auth };
}

