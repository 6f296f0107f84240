import type { Kysely, Transaction } from 'kysely';
import { conflict, notFound } from '../core/errors.js';
import { ACTIVE_ROLLOUT_STATES, isActive, type Rollout, type RolloutMember, type RolloutState } from '../core/rollout.js';
import type { MemberChange, RolloutStep, StationObservation } from '../core/rollout-gate.js';
import type { RegistryBackend } from './backend.js';
import type { RegistryDatabase } from './db-schema.js';
import { isUniqueViolation, translateBackendError } from './db-errors.js';
import { eventColumns, firmwareColumns, num } from './row-mapping.js';
import type { RolloutTables } from './rollout-schema.js';
import { toMember, toPackage, toRollout, toRolloutEvent } from './rollout-rows.js';
import type { FirmwarePackage, FirmwarePackageUse, NewRollout, RolloutEventRecord, RolloutStore } from './rollout-types.js';

type Db = Kysely<RegistryDatabase & RolloutTables>;
const CHUNK = 500;
const TERMINAL_MEMBER = new Set(['confirmed', 'failed', 'skipped', 'reverted']);

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The RolloutStore on the registry's database; see rollout-types.ts. */
export class KyselyRolloutStore implements RolloutStore {
  readonly #backend: RegistryBackend;
  readonly #db: Db;

  constructor(backend: RegistryBackend) {
    this.#backend = backend;
    this.#db = backend.db.withTables<RolloutTables>();
  }

  async #run<T>(work: (db: Db) => Promise<T>): Promise<T> {
    try {
      return await work(this.#db);
    } catch (e) {
      throw translateBackendError(e, this.#backend.display);
    }
  }

  addPackage(pkg: Omit<FirmwarePackage, 'createdAt'>, at: Date): Promise<FirmwarePackage> {
    return this.#run(async (db) => {
      try {
        await db
          .insertInto('firmware_packages')
          .values({ package: pkg.package, blob: pkg.blob, size: pkg.size, sha256: pkg.sha256, signatures: JSON.stringify(pkg.signatures), models: JSON.stringify(pkg.models), created_by: pkg.createdBy, created_at: at.getTime() })
          .execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('package_exists', `package ${pkg.package} is already in the firmware library; remove it first or upload under another version`, { package: pkg.package });
        throw e;
      }
      return { ...pkg, createdAt: at };
    });
  }

  getPackage(pkg: string): Promise<FirmwarePackage | undefined> {
    return this.#run(async (db) => {
      const row = await db.selectFrom('firmware_packages').selectAll().where('package', '=', pkg).executeTakeFirst();
      return row === undefined ? undefined : toPackage(row);
    });
  }

  listPackages(): Promise<FirmwarePackage[]> {
    return this.#run(async (db) => (await db.selectFrom('firmware_packages').selectAll().orderBy('created_at', 'desc').execute()).map(toPackage));
  }

  packageUse(pkg: string): Promise<FirmwarePackageUse> {
    return this.#run((db) => packageUse(db, pkg));
  }

  removePackage(pkg: string): Promise<boolean> {
    return this.#run((db) =>
      db.transaction().execute(async (trx) => {
        const use = await packageUse(trx, pkg);
        if (use.stations.length > 0 || use.rollouts.length > 0) {
          const why = [use.stations.length > 0 ? `${use.stations.length} station(s) are targeted at it (${use.stations.slice(0, 5).join(', ')}${use.stations.length > 5 ? ', …' : ''})` : '', use.rollouts.length > 0 ? `active rollout(s) ${use.rollouts.join(', ')}` : ''].filter(Boolean).join(' and ');
          throw conflict('package_in_use', `package ${pkg} is still used: ${why}; wait until they finish, or retarget or abort them`, { package: pkg });
        }
        const r = await trx.deleteFrom('firmware_packages').where('package', '=', pkg).executeTakeFirst();
        return r.numDeletedRows > 0n;
      }),
    );
  }

  createRollout(input: NewRollout, at: Date): Promise<Rollout> {
    const now = at.getTime();
    return this.#run((db) =>
      db.transaction().execute(async (trx) => {
        await trx
          .insertInto('rollouts')
          .values({
            id: input.id, name: input.name, kind: input.change.kind, change: JSON.stringify(input.change), selector: JSON.stringify(input.selector),
            plan: JSON.stringify(input.plan), wave_sizes: JSON.stringify(input.waveSizes), state: 'running', wave: 0, wave_started_at: null,
            wave_passed_at: null, halt_reason: null, rollback_of: input.rollbackOf, created_by: input.createdBy, created_at: now, updated_at: now, version: 1,
          })
          .execute();
        const held = await claimsOf(trx, input.members.map((m) => m.eui));
        const events: { type: string; eui: string | null; wave: number | null; message: string }[] = [];
        for (const part of chunks(input.members)) {
          const free = part.filter((m) => !held.has(m.eui));
          if (free.length > 0) await trx.insertInto('rollout_claims').values(free.map((m) => ({ eui: m.eui, rollout_id: input.id }))).execute();
          await trx
            .insertInto('rollout_members')
            .values(part.map((m) => {
              const other = held.get(m.eui);
              if (other !== undefined) events.push({ type: 'skipped', eui: m.eui, wave: m.wave, message: `skipped: in active rollout ${other}` });
              return { rollout_id: input.id, eui: m.eui, wave: m.wave, state: other === undefined ? 'pending' : 'skipped', reason: other === undefined ? null : `in active rollout ${other}`, previous: null, offered_at: null, deadline_at: null, done_at: other === undefined ? null : now };
            }))
            .execute();
        }
        const waves = input.waveSizes.join(', ');
        events.unshift({ type: 'created', eui: null, wave: null, message: `created by ${input.createdBy}: ${input.members.length} station(s), cumulative waves ${waves === '' ? 'none' : waves}` });
        for (const part of chunks(events)) await trx.insertInto('rollout_events').values(part.map((e) => ({ rollout_id: input.id, at: now, ...e }))).execute();
        return toRollout(await trx.selectFrom('rollouts').selectAll().where('id', '=', input.id).executeTakeFirstOrThrow());
      }),
    );
  }

  getRollout(id: string): Promise<Rollout | undefined> {
    return this.#run(async (db) => {
      const row = await db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRollout(row);
    });
  }

  listRollouts(states?: readonly RolloutState[]): Promise<Rollout[]> {
    return this.#run(async (db) => {
      const rows = await db
        .selectFrom('rollouts')
        .selectAll()
        .$if(states !== undefined && states.length > 0, (q) => q.where('state', 'in', states as RolloutState[]))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toRollout);
    });
  }

  listMembers(id: string): Promise<RolloutMember[]> {
    return this.#run(async (db) => (await db.selectFrom('rollout_members').selectAll().where('rollout_id', '=', id).orderBy('wave').orderBy('eui').execute()).map(toMember));
  }

  listRolloutEvents(id: string): Promise<RolloutEventRecord[]> {
    return this.#run(async (db) => (await db.selectFrom('rollout_events').selectAll().where('rollout_id', '=', id).orderBy('id').execute()).map(toRolloutEvent));
  }

  countMembers() {
    return this.#run(async (db) => {
      const rows = await db
        .selectFrom('rollout_members as m')
        .innerJoin('rollouts as r', 'r.id', 'm.rollout_id')
        .where('r.state', 'in', [...ACTIVE_ROLLOUT_STATES])
        .select(['m.rollout_id', 'r.state as rollout_state', 'm.state', (eb) => eb.fn.countAll<number | string>().as('n')])
        .groupBy(['m.rollout_id', 'r.state', 'm.state'])
        .execute();
      return rows.map((r) => ({ rollout: r.rollout_id, rolloutState: r.rollout_state as RolloutState, state: r.state, count: num(r.n) }));
    });
  }

  observe(euis: readonly string[]): Promise<Map<string, StationObservation>> {
    return this.#run(async (db) => {
      const out = new Map<string, StationObservation>();
      for (const part of chunks(euis)) {
        const rows = await db
          .selectFrom('stations as s')
          .leftJoin('firmware_targets as f', 'f.eui', 's.eui')
          .select(['s.eui', 's.tc_uri', 's.cups_uri', 's.reported_at', 's.reported_model', 's.reported_package', 's.reported_tc_uri', 's.reported_cups_uri', 's.last_seen_at',
            'f.package as fw_package', 'f.state as fw_state', 'f.offers as fw_offers', 'f.last_offered_at as fw_last_offered_at', 'f.last_error as fw_last_error'])
          .where('s.eui', 'in', part)
          .execute();
        for (const r of rows) {
          out.set(r.eui, {
            exists: true,
            desired: { tcUri: r.tc_uri, cupsUri: r.cups_uri },
            reported: r.reported_at === null ? null : { model: r.reported_model ?? '', package: r.reported_package, tcUri: r.reported_tc_uri, cupsUri: r.reported_cups_uri },
            lastSeenAt: r.last_seen_at === null ? null : new Date(num(r.last_seen_at)),
            firmware: r.fw_package === null ? null : {
              package: r.fw_package,
              state: r.fw_state as 'pending',
              offers: num(r.fw_offers ?? 0),
              lastOfferedAt: r.fw_last_offered_at === null ? null : new Date(num(r.fw_last_offered_at)),
              lastError: r.fw_last_error,
            },
          });
        }
      }
      return out;
    });
  }

  claims(euis: readonly string[]): Promise<Map<string, string>> {
    return this.#run((db) => claimsOf(db, euis));
  }

  applyStep(rollout: Rollout, step: RolloutStep, at: Date): Promise<boolean> {
    return this.#run((db) => db.transaction().execute((trx) => writeStep(trx, rollout, step, at)));
  }
}

async function claimsOf(db: Db | Transaction<RegistryDatabase & RolloutTables>, euis: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks(euis)) {
    const rows = await db.selectFrom('rollout_claims').select(['eui', 'rollout_id']).where('eui', 'in', part).execute();
    for (const r of rows) out.set(r.eui, r.rollout_id);
  }
  return out;
}

async function packageUse(db: Db | Transaction<RegistryDatabase & RolloutTables>, pkg: string): Promise<FirmwarePackageUse> {
  const [targets, rollouts] = await Promise.all([
    db.selectFrom('firmware_targets').select('eui').where('package', '=', pkg).where('state', '!=', 'upgraded').orderBy('eui').execute(),
    db.selectFrom('rollouts').select(['id', 'change']).where('kind', '=', 'firmware').where('state', 'in', [...ACTIVE_ROLLOUT_STATES]).execute(),
  ]);
  return {
    stations: targets.map((t) => t.eui),
    rollouts: rollouts.filter((r) => (JSON.parse(r.change) as { package: string }).package === pkg).map((r) => r.id),
  };
}

/** The guarded write of one step; see RolloutStore.applyStep. */
async function writeStep(trx: Transaction<RegistryDatabase & RolloutTables>, rollout: Rollout, step: RolloutStep, at: Date): Promise<boolean> {
  const now = at.getTime();
  const r = step.rollout;
  const ms = (d: Date | null | undefined) => (d === undefined ? undefined : d === null ? null : d.getTime());
  const guarded = await trx
    .updateTable('rollouts')
    .set({
      version: rollout.version + 1,
      updated_at: now,
      ...(r.state === undefined ? {} : { state: r.state }),
      ...(r.wave === undefined ? {} : { wave: r.wave }),
      ...(r.waveStartedAt === undefined ? {} : { wave_started_at: ms(r.waveStartedAt) as number | null }),
      ...(r.wavePassedAt === undefined ? {} : { wave_passed_at: ms(r.wavePassedAt) as number | null }),
      ...(r.haltReason === undefined ? {} : { halt_reason: r.haltReason }),
    })
    .where('id', '=', rollout.id)
    .where('version', '=', rollout.version)
    .executeTakeFirst();
  if (guarded.numUpdatedRows === 0n) return false;

  const change = rollout.change;
  const pkg = change.kind === 'firmware' && step.members.some((m) => m.offer !== undefined)
    ? await trx.selectFrom('firmware_packages').selectAll().where('package', '=', change.package).executeTakeFirst()
    : undefined;
  if (change.kind === 'firmware' && pkg === undefined && step.members.some((m) => m.offer !== undefined)) {
    throw notFound('package_not_found', `package ${change.package} is no longer in the firmware library; rollout ${rollout.id} cannot offer it`);
  }
  for (const m of step.members) {
    await writeMember(trx, rollout, m, now);
    if (m.offer !== undefined) {
      if (change.kind === 'firmware' && pkg !== undefined) {
        const p = toPackage(pkg);
        const columns = firmwareColumns({ package: p.package, blob: p.blob, size: p.size, sha256: p.sha256, signatures: p.signatures, maxOffers: change.maxOffers, fromPackage: m.offer.previous.package, requestedAt: at });
        await trx.insertInto('firmware_targets').values({ eui: m.eui, ...columns }).onConflict((oc) => oc.column('eui').doUpdateSet(columns)).execute();
        await trx.updateTable('stations').set({ updated_at: now }).where('eui', '=', m.eui).execute();
      } else if (change.kind === 'tcUri') {
        await trx.updateTable('stations').set({ tc_uri: change.uri, updated_at: now }).where('eui', '=', m.eui).execute();
      } else if (change.kind === 'cupsUri') {
        await trx.updateTable('stations').set({ cups_uri: change.uri, updated_at: now }).where('eui', '=', m.eui).execute();
      }
    }
    if (m.restore !== undefined) {
      if (change.kind === 'tcUri') await trx.updateTable('stations').set({ tc_uri: m.restore.tcUri, updated_at: now }).where('eui', '=', m.eui).execute();
      if (change.kind === 'cupsUri') await trx.updateTable('stations').set({ cups_uri: m.restore.cupsUri, updated_at: now }).where('eui', '=', m.eui).execute();
    }
  }
  for (const part of chunks(step.events)) {
    await trx.insertInto('rollout_events').values(part.map((e) => ({ rollout_id: rollout.id, at: now, type: e.type, wave: e.wave ?? null, eui: e.eui ?? null, message: e.message }))).execute();
    const forStations = part.filter((e) => e.eui !== undefined);
    if (forStations.length > 0) {
      const existing = new Set((await trx.selectFrom('stations').select('eui').where('eui', 'in', forStations.map((e) => e.eui as string)).execute()).map((s) => s.eui));
      const rows = forStations
        .filter((e) => existing.has(e.eui as string))
        .map((e) => eventColumns(e.eui as string, { type: 'rollout', message: `rollout ${rollout.id}: ${e.message}`, detail: { rollout: rollout.id, wave: e.wave ?? null, event: e.type } }, at));
      if (rows.length > 0) await trx.insertInto('station_events').values(rows).execute();
    }
  }
  if (r.state !== undefined && !isActive(r.state)) await trx.deleteFrom('rollout_claims').where('rollout_id', '=', rollout.id).execute();
  return true;
}

async function writeMember(trx: Transaction<RegistryDatabase & RolloutTables>, rollout: Rollout, m: MemberChange, now: number): Promise<void> {
  const done = TERMINAL_MEMBER.has(m.state) ? now : null;
  if (m.joined === true) {
    try {
      await trx.insertInto('rollout_claims').values({ eui: m.eui, rollout_id: rollout.id }).execute();
    } catch (e) {
      // Another rollout took the station since it was read: this whole step is redone at the next evaluation.
      if (isUniqueViolation(e)) throw conflict('station_claimed', `station ${m.eui} joined another rollout meanwhile`);
      throw e;
    }
    await trx.insertInto('rollout_members').values({ rollout_id: rollout.id, eui: m.eui, wave: m.wave, state: m.state, reason: m.reason, previous: null, offered_at: null, deadline_at: null, done_at: done }).execute();
    return;
  }
  await trx
    .updateTable('rollout_members')
    .set({
      state: m.state,
      reason: m.reason,
      done_at: done,
      ...(m.offer === undefined ? {} : { previous: JSON.stringify(m.offer.previous), offered_at: now, deadline_at: m.offer.deadlineAt.getTime() }),
    })
    .where('rollout_id', '=', rollout.id)
    .where('eui', '=', m.eui)
    .execute();
}
