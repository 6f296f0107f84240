import { sql, type Kysely } from 'kysely';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { RegistryBackend } from './backend.js';
import type { RegistryDatabase } from './db-schema.js';
import { isUniqueViolation, runOn } from './db-errors.js';
import type { FaultHook } from '../core/fault-hook.js';
import { applyCredentialChange } from './credential-change.js';
import { auditedTransaction, type AuditFor } from './audit-row.js';
import { applyFirmwareTransition } from './firmware-transition.js';
import { writeExchange } from './record-exchange.js';
import { dropGuard, writeGuard } from './revert/station-revert.js';
import { selectAllHealth, selectHealth } from './health/health-rows.js';
import { DEFAULT_RETENTION, DEFAULT_UNKNOWN_STATIONS, type EventRetention, type FirmwareDelivery, type Refusal } from './event-types.js';
import { pruneAllEvents, trimStationEvents, upsertRefusal, writeDelivery } from './event-retention.js';
import { markTokenCompromisedRow } from './token-exposure.js';
import {
  desiredColumns,
  eventColumns,
  firmwareColumns,
  millis,
  stationColumns,
  toEvent,
  toStation,
  type NewSigningKey,
  type UnknownSighting,
} from './row-mapping.js';
import { deleteSigningKey, insertSigningKey, selectSigningKey, selectSigningKeys } from './signing-keys.js';
import { selectUnknown, selectUnknownPage, upsertUnknown } from './unknown-stations.js';
import { writeLabelRows } from './station-labels.js';
import type {
  ExchangeRecord,
  ExchangeResult,
  FirmwareTarget,
  FirmwareTransition,
  NewEvent,
  NewFirmwareTarget,
  NewStation,
  SigningKey,
  Station,
  StationEvent,
  StationPatch,
  StationRegistry,
  UnknownStation,
} from './types.js';
import { validateEui, validateFirmwareTarget, validateSigningKey, validateSigningKeyCrc } from './validate.js';
import type {
  CompletedRotation,
  CredentialCategory,
  CredentialPlan,
  NewRotation,
  NewStationCertificate,
  NewStationToken,
  StationAuth,
  StationAuthMode,
  StationToken,
} from './auth-types.js';
import {
  deleteRotation,
  finishRotation,
  insertCertificate,
  insertToken,
  retireCertificateRow,
  retireTokenRow,
  selectStationAuth,
  selectTokenByHash,
  upsertAuthMode,
  upsertRotation,
} from './station-auth.js';

/**
 * The one StationRegistry implementation; the dialect lives in the backend.
 * `updated_at` tracks operator changes (patches, firmware targets), not exchanges:
 * `last_seen_at` says when the station last talked.
 */
export class KyselyRegistry implements StationRegistry {
  readonly #backend: RegistryBackend;
  readonly #db: Kysely<RegistryDatabase>;
  readonly #now: () => Date;
  readonly #retention: EventRetention;

  constructor(backend: RegistryBackend, now: () => Date, retention: EventRetention = DEFAULT_RETENTION) {
    this.#backend = backend;
    this.#db = backend.db;
    this.#now = now;
    this.#retention = retention;
  }

  /** Runs `work`, turning driver errors into CupsErrors that name the database. */
  #run<T>(work: (db: Kysely<RegistryDatabase>) => Promise<T>): Promise<T> {
    return runOn(this.#backend, this.#db, work);
  }

  migrate(): Promise<void> {
    return this.#run(() => this.#backend.migrate());
  }

  ping(): Promise<void> {
    return this.#run(async (db) => {
      await sql`select 1`.execute(db);
    });
  }

  close(): Promise<void> {
    return this.#run((db) => db.destroy());
  }

  async createStation(input: NewStation, audit?: AuditFor<Station>): Promise<Station> {
    validateEui(input.eui);
    const now = this.#now();
    return this.#run(async (db) => {
      try {
        return await auditedTransaction(db, audit, async (trx) => {
          await trx.insertInto('stations').values(stationColumns(input, now)).execute();
          await writeLabelRows(trx, input.eui, input.labels ?? {});
          // A registered station is no longer unknown.
          await trx.deleteFrom('unknown_stations').where('eui', '=', input.eui).execute();
          return (await loadStation(trx, input.eui)) as Station;
        });
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw conflict('station_exists', `Station ${input.eui} is already registered; update it or remove it first.`, {
            eui: input.eui,
          });
        }
        throw e;
      }
    });
  }

  getStation(eui: string): Promise<Station | undefined> {
    return this.#run((db) => loadStation(db, eui));
  }

  /** Filters labels in JS after one ordered read: labels are JSON text, queried differently per dialect. */
  listStations(filter?: { readonly labels?: Readonly<Record<string, string>> }): Promise<Station[]> {
    return this.#run(async (db) => {
      const [rows, targets, health] = await Promise.all([
        db.selectFrom('stations').selectAll().orderBy('eui').execute(),
        db.selectFrom('firmware_targets').selectAll().execute(),
        selectAllHealth(db),
      ]);
      const byEui = new Map(targets.map((t) => [t.eui, t]));
      const wanted = Object.entries(filter?.labels ?? {});
      return rows
        .map((row) => ({ ...toStation(row, byEui.get(row.eui)), health: health.get(row.eui) ?? null }))
        .filter((s) => wanted.every(([key, value]) => s.labels[key] === value));
    });
  }

  async updateStation(eui: string, patch: StationPatch, audit?: AuditFor<Station>): Promise<Station> {
    const now = millis(this.#now());
    return this.#run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        // What the station had, for a guard: read under the same transaction, before it changes.
        const before = patch.revertUnhealthy === undefined ? undefined : await trx.selectFrom('stations').select(['tc_uri', 'reported_tc_uri']).where('eui', '=', eui).executeTakeFirst();
        // Writing first locks the row, so the label merge below cannot lose a concurrent patch.
        const updated = await trx
          .updateTable('stations')
          .set({
            updated_at: now,
            ...(patch.name === undefined ? {} : { name: patch.name }),
            ...(patch.problem === undefined ? {} : { problem: patch.problem }),
            ...desiredColumns(patch.desired ?? {}),
          })
          .where('eui', '=', eui)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) throw stationNotFound(eui);
        if (patch.desired !== undefined && 'tcUri' in patch.desired) {
          const to = patch.desired.tcUri ?? null;
          if (patch.revertUnhealthy === undefined) await dropGuard(trx, eui);
          else {
            const from = before?.tc_uri ?? before?.reported_tc_uri ?? null;
            if (to === null) throw invalid('revert_not_possible', '--revert-unhealthy needs a TC URI to guard: it puts the previous one back if the new one fails');
            if (from === null || from === to) {
              throw invalid('revert_not_possible', `station ${eui} had no other TC URI before (desired or reported), so there is nothing to put back; set it without --revert-unhealthy`);
            }
            await writeGuard(trx, eui, { from, to, by: patch.revertUnhealthy.by }, this.#now());
          }
        } else if (patch.revertUnhealthy !== undefined) {
          throw invalid('revert_not_possible', '--revert-unhealthy guards a TC URI change: give --tc-uri with it');
        }
        if (patch.labels !== undefined) {
          const row = await trx.selectFrom('stations').select('labels').where('eui', '=', eui).executeTakeFirstOrThrow();
          const labels = JSON.parse(row.labels) as Record<string, string>;
          for (const [key, value] of Object.entries(patch.labels)) {
            if (value === null) delete labels[key];
            else labels[key] = value;
          }
          await trx.updateTable('stations').set({ labels: JSON.stringify(labels) }).where('eui', '=', eui).execute();
          await writeLabelRows(trx, eui, labels);
        }
        return (await loadStation(trx, eui)) as Station;
      }),
    );
  }

  removeStation(eui: string, audit?: AuditFor<boolean>): Promise<boolean> {
    return this.#run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        const result = await trx.deleteFrom('stations').where('eui', '=', eui).executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
    );
  }

  recordExchange(eui: string, record: ExchangeRecord): Promise<ExchangeResult> {
    return this.#run((db) =>
      db.transaction().execute(async (trx) => {
        const result = await writeExchange(trx, eui, record, this.#backend.flavour);
        if (record.events.length > 0) await trimStationEvents(trx, eui, this.#retention, record.at);
        return result;
      }),
    );
  }

  recordRefusal(eui: string, refusal: Refusal, at: Date): Promise<boolean> {
    return this.#run((db) => upsertRefusal(db, eui, refusal, at, this.#retention));
  }

  recordFirmwareDelivery(eui: string, delivery: FirmwareDelivery): Promise<FirmwareTarget | null> {
    return this.#run((db) => db.transaction().execute((trx) => writeDelivery(trx, eui, delivery, this.#retention)));
  }

  pruneEvents(now: Date): Promise<number> {
    return this.#run((db) => pruneAllEvents(db, this.#retention, now));
  }

  touchStation(eui: string, seen: { readonly at: Date; readonly remoteAddress: string | null }): Promise<boolean> {
    return this.#run(async (db) => {
      const result = await db
        .updateTable('stations')
        .set({ last_seen_at: millis(seen.at), last_remote_address: seen.remoteAddress })
        .where('eui', '=', eui)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    });
  }

  appendEvents(eui: string, events: readonly NewEvent[], at: Date): Promise<void> {
    return this.#run(async (db) => {
      if (events.length === 0) return;
      await db.transaction().execute(async (trx) => {
        const station = await trx.selectFrom('stations').select('eui').where('eui', '=', eui).executeTakeFirst();
        if (station === undefined) throw stationNotFound(eui);
        await trx
          .insertInto('station_events')
          .values(events.map((e) => eventColumns(eui, e, at)))
          .execute();
        await trimStationEvents(trx, eui, this.#retention, at);
      });
    });
  }

  async listEvents(eui: string, options?: { readonly limit?: number }): Promise<StationEvent[]> {
    const limit = options?.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw invalid('invalid_limit', `limit must be a positive integer, got ${String(limit)}.`, { field: 'limit' });
    }
    return this.#run(async (db) => {
      const rows = await db
        .selectFrom('station_events')
        .selectAll()
        .where('eui', '=', eui)
        .orderBy('id', 'desc')
        .$if(limit !== undefined, (q) => q.limit(limit as number))
        .execute();
      return rows.map(toEvent);
    });
  }

  recordUnknown(eui: string, seen: UnknownSighting): Promise<void> {
    // One transaction: a first sighting and its webhook deliveries commit together.
    return this.#run((db) => db.transaction().execute((trx) => upsertUnknown(trx, eui, seen, this.#retention.unknownStations ?? DEFAULT_UNKNOWN_STATIONS)));
  }

  listUnknown(): Promise<UnknownStation[]> {
    return this.#run((db) => selectUnknown(db));
  }

  listUnknownPage(query: { readonly limit: number; readonly cursor?: string | undefined }): Promise<{ items: UnknownStation[]; nextCursor: string | null }> {
    return this.#run((db) => selectUnknownPage(db, query));
  }

  async setFirmwareTarget(eui: string, target: NewFirmwareTarget | null): Promise<void> {
    if (target !== null) validateFirmwareTarget(target);
    const now = millis(this.#now());
    return this.#run((db) => db.transaction().execute((trx) => writeFirmwareTarget(trx, eui, target, now)));
  }

  async setFirmwareTargets(
    targets: readonly { readonly eui: string; readonly target: NewFirmwareTarget; readonly events: readonly NewEvent[] }[],
    at: Date,
    faults?: FaultHook,
    audit?: AuditFor<void>,
  ): Promise<void> {
    for (const t of targets) validateFirmwareTarget(t.target);
    const now = millis(at);
    return this.#run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        for (const { eui, target, events } of targets) {
          await writeFirmwareTarget(trx, eui, target, now);
          if (events.length > 0) await trx.insertInto('station_events').values(events.map((e) => eventColumns(eui, e, at))).execute();
          await faults?.(`registry:firmware-target-set:${eui}`);
        }
      }),
    );
  }

  changeCredentials<T>(eui: string, plan: CredentialPlan<T>, at: Date, faults?: FaultHook, audit?: AuditFor<T>): Promise<T> {
    return this.#run((db) => auditedTransaction(db, audit, (trx) => applyCredentialChange(trx, eui, plan, at, faults)));
  }

  async updateFirmware(
    eui: string,
    transition: FirmwareTransition & { readonly resetOffers?: boolean },
    audit?: AuditFor<FirmwareTarget | null>,
  ): Promise<FirmwareTarget | null> {
    const now = this.#now();
    return this.#run((db) => auditedTransaction(db, audit, (trx) => applyFirmwareTransition(trx, eui, transition, now, transition.resetOffers === true)));
  }

  async addSigningKey(key: NewSigningKey, audit?: AuditFor<SigningKey>): Promise<SigningKey> {
    validateSigningKey(key);
    const now = this.#now();
    return this.#run((db) => auditedTransaction(db, audit, (trx) => insertSigningKey(trx, key, now)));
  }

  getSigningKey(crc: number): Promise<SigningKey | undefined> {
    return this.#run((db) => selectSigningKey(db, crc));
  }

  listSigningKeys(): Promise<SigningKey[]> {
    return this.#run((db) => selectSigningKeys(db));
  }

  async removeSigningKey(crc: number, audit?: AuditFor<boolean>): Promise<boolean> {
    validateSigningKeyCrc(crc);
    return this.#run((db) => auditedTransaction(db, audit, (trx) => deleteSigningKey(trx, crc)));
  }

  getStationAuth(eui: string): Promise<StationAuth | undefined> {
    return this.#run((db) => selectStationAuth(db, eui));
  }

  findToken(hash: string): Promise<StationToken | undefined> {
    return this.#run((db) => selectTokenByHash(db, hash));
  }

  setAuthMode(eui: string, mode: StationAuthMode, at: Date): Promise<void> {
    return this.#run((db) => db.transaction().execute((trx) => upsertAuthMode(trx, eui, mode, at)));
  }

  addCertificate(eui: string, certificate: NewStationCertificate, at: Date): Promise<void> {
    return this.#run((db) => insertCertificate(db, eui, certificate, at));
  }

  addToken(eui: string, token: NewStationToken, at: Date): Promise<void> {
    return this.#run((db) => insertToken(db, eui, token, at));
  }

  retireCertificate(eui: string, fingerprint: string, reason: string, at: Date): Promise<boolean> {
    return this.#run((db) => retireCertificateRow(db, eui, fingerprint, reason, at));
  }

  retireToken(eui: string, id: string, reason: string, at: Date): Promise<boolean> {
    return this.#run((db) => retireTokenRow(db, eui, id, reason, at));
  }

  markTokenCompromised(id: string, reason: string, at: Date): Promise<boolean> {
    return this.#run((db) => db.transaction().execute((trx) => markTokenCompromisedRow(trx, id, reason, at)));
  }

  startRotation(eui: string, rotation: NewRotation, at: Date): Promise<void> {
    return this.#run((db) => upsertRotation(db, eui, rotation, at));
  }

  cancelRotation(eui: string, category: CredentialCategory): Promise<boolean> {
    return this.#run((db) => deleteRotation(db, eui, category));
  }

  completeRotation(
    eui: string,
    completion: { readonly category: CredentialCategory; readonly newCrc: number },
    at: Date,
  ): Promise<CompletedRotation | undefined> {
    return this.#run((db) => db.transaction().execute((trx) => finishRotation(trx, eui, completion, at)));
  }
}

/** Sets (or, with null, clears) a station's firmware target, marking the station changed; refuses an unknown station. */
async function writeFirmwareTarget(db: Kysely<RegistryDatabase>, eui: string, target: NewFirmwareTarget | null, now: number): Promise<void> {
  const touched = await db.updateTable('stations').set({ updated_at: now }).where('eui', '=', eui).executeTakeFirst();
  if (touched.numUpdatedRows === 0n) throw stationNotFound(eui);
  if (target === null) {
    await db.deleteFrom('firmware_targets').where('eui', '=', eui).execute();
    return;
  }
  const columns = firmwareColumns(target);
  await db
    .insertInto('firmware_targets')
    .values({ eui, ...columns })
    .onConflict((oc) => oc.column('eui').doUpdateSet(columns))
    .execute();
}

async function loadStation(db: Kysely<RegistryDatabase>, eui: string): Promise<Station | undefined> {
  const row = await db.selectFrom('stations').selectAll().where('eui', '=', eui).executeTakeFirst();
  if (row === undefined) return undefined;
  const firmware = await db.selectFrom('firmware_targets').selectAll().where('eui', '=', eui).executeTakeFirst();
  const health = await selectHealth(db, [eui]);
  return { ...toStation(row, firmware), health: health.get(eui) ?? null };
}

function stationNotFound(eui: string) {
  return notFound('station_not_found', `Station ${eui} is not registered; check the EUI or register the station first.`, {
    eui,
  });
}
