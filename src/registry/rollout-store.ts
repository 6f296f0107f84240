import { auditedTransaction, writeAudit, type AuditFor } from './audit-row.js';
import { sql, type Kysely, type Transaction } from 'kysely';
import { conflict } from '../core/errors.js';
import { ACTIVE_ROLLOUT_STATES, type MemberState, type RevertState, type Rollout, type RolloutMember, type RolloutState } from '../core/rollout.js';
import type { RolloutStep, StationObservation } from '../core/rollout-gate.js';
import type { CredentialPlan } from './auth-types.js';
import type { RegistryBackend } from './backend.js';
import type { RegistryDatabase } from './db-schema.js';
import { BackendStore } from './backend-store.js';
import { isUniqueViolation } from './db-errors.js';
import { num } from './row-mapping.js';
import type { RolloutTables } from './rollout-schema.js';
import { toMember, toPackage, toRollout, toRolloutEvent } from './rollout-rows.js';
import { REVERTING_PREFIX } from './migration-revert.js';
import { chunks } from './chunks.js';
import type { HealthTables } from './health/health-rows.js';
import { ROLLOUT_CHUNK, writeStep } from './rollout-step.js';
import { queueWebhookEvents } from './webhooks/outbox.js';
import { rolloutScheduledEvent, rolloutWebhookEvent } from './webhooks/event-hooks.js';
import { checkLimit, decodeCursor, encodeCursor } from './cursor.js';
import type { Page } from './fleet-types.js';
import { selectHealth } from './health/health-rows.js';
import type {
  CallRhythm,
  FirmwarePackage,
  FirmwarePackageUse,
  MemberCount,
  MemberPageQuery,
  NewRollout,
  RolloutEventPageQuery,
  RolloutEventRecord,
  RolloutPageQuery,
  RolloutStore,
} from './rollout-types.js';
import type { TcCredentialRow } from '../core/rollout-revert.js';

type Db = Kysely<RegistryDatabase & RolloutTables>;


/** The RolloutStore on the registry's database; see rollout-types.ts. */
export class KyselyRolloutStore extends BackendStore<RegistryDatabase & RolloutTables> implements RolloutStore {
  constructor(backend: RegistryBackend) {
    super(backend, backend.db.withTables<RolloutTables>());
  }

  addPackage(pkg: Omit<FirmwarePackage, 'createdAt'>, at: Date, audit?: AuditFor<FirmwarePackage>): Promise<FirmwarePackage> {
    return this.run((db) => auditedTransaction(db, audit, async (trx) => {
      try {
        await trx
          .insertInto('firmware_packages')
          .values({ package: pkg.package, blob: pkg.blob, size: pkg.size, sha256: pkg.sha256, signatures: JSON.stringify(pkg.signatures), models: JSON.stringify(pkg.models), created_by: pkg.createdBy, created_at: at.getTime() })
          .execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('package_exists', `package ${pkg.package} is already in the firmware library; remove it first or upload under another version`, { package: pkg.package });
        throw e;
      }
      return { ...pkg, createdAt: at };
    }));
  }

  getPackage(pkg: string): Promise<FirmwarePackage | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('firmware_packages').selectAll().where('package', '=', pkg).executeTakeFirst();
      return row === undefined ? undefined : toPackage(row);
    });
  }

  listPackages(): Promise<FirmwarePackage[]> {
    return this.run(async (db) => (await db.selectFrom('firmware_packages').selectAll().orderBy('created_at', 'desc').execute()).map(toPackage));
  }

  packageUse(pkg: string): Promise<FirmwarePackageUse> {
    return this.run((db) => packageUse(db, pkg));
  }

  removePackage(pkg: string, audit?: AuditFor<boolean>): Promise<boolean> {
    return this.run((db) =>
      auditedTransaction(db, audit, async (trx) => {
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

  createRollout(input: NewRollout, at: Date, audit?: AuditFor<Rollout>): Promise<Rollout> {
    const now = at.getTime();
    return this.run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        await trx
          .insertInto('rollouts')
          .values({
            id: input.id, name: input.name, kind: input.change.kind, change: JSON.stringify(input.change), selector: JSON.stringify(input.selector),
            plan: JSON.stringify(input.plan), wave_sizes: JSON.stringify(input.waveSizes), state: input.state ?? 'running', wave: 0, wave_started_at: null,
            wave_passed_at: null, halt_reason: null, rollback_of: input.rollbackOf, created_by: input.createdBy, created_at: now, updated_at: now, version: 1,
            created_by_identity: input.createdByIdentity ?? null, approval: null, approved_by: null, approved_at: null,
          })
          .execute();
        const held = await claimsOf(trx, input.members.map((m) => m.eui));
        const events: { type: string; eui: string | null; wave: number | null; message: string }[] = [];
        for (const part of chunks(input.members, ROLLOUT_CHUNK)) {
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
        const scheduled = input.state === 'scheduled' ? `; scheduled to start at ${input.plan.startAt ?? 'once evaluated'}` : '';
        events.unshift({ type: 'created', eui: null, wave: null, message: `created by ${input.createdBy}: ${input.members.length} station(s), cumulative waves ${waves === '' ? 'none' : waves}${scheduled}` });
        if (input.state === 'waiting_for_approval') events.splice(1, 0, { type: 'waiting_for_approval', eui: null, wave: null, message: 'waiting for approval by an operator other than its creator (bscups rollout approve / deny)' });
        for (const part of chunks(events, ROLLOUT_CHUNK)) await trx.insertInto('rollout_events').values(part.map((e) => ({ rollout_id: input.id, at: now, ...e }))).execute();
        const created = toRollout(await trx.selectFrom('rollouts').selectAll().where('id', '=', input.id).executeTakeFirstOrThrow());
        // Told in the transaction that creates it, so a subscriber hears of every rollout that waits, and only of those.
        if (created.state === 'scheduled') await queueWebhookEvents(trx as unknown as Kysely<RegistryDatabase>, [rolloutScheduledEvent(created, input.members.length - held.size, at)]);
        if (created.state === 'waiting_for_approval') await queueWebhookEvents(trx as unknown as Kysely<RegistryDatabase>, rolloutWebhookEvent({ ...created, state: 'running' }, created.state, null, at));
        return created;
      }),
    );
  }

  getRollout(id: string): Promise<Rollout | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRollout(row);
    });
  }

  listRolloutsWithReportsDue(): Promise<Rollout[]> {
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('rollouts')
        .selectAll()
        .where('state', '=', 'completed')
        .where((eb) => eb.exists(eb.selectFrom('rollout_members as m').select('m.eui').whereRef('m.rollout_id', '=', 'rollouts.id').where('m.report_due', '=', 1)))
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toRollout);
    });
  }

  listRollouts(states?: readonly RolloutState[]): Promise<Rollout[]> {
    return this.run(async (db) => {
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
    return this.run(async (db) => (await db.selectFrom('rollout_members').selectAll().where('rollout_id', '=', id).orderBy('wave').orderBy('eui').execute()).map(toMember));
  }

  listRolloutEvents(id: string): Promise<RolloutEventRecord[]> {
    return this.run(async (db) => (await db.selectFrom('rollout_events').selectAll().where('rollout_id', '=', id).orderBy('id').execute()).map(toRolloutEvent));
  }

  listRolloutPage(query: RolloutPageQuery): Promise<Page<Rollout>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 3, 'rollouts');
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('rollouts')
        .selectAll()
        .$if(query.states !== undefined && query.states.length > 0, (q) => q.where('state', 'in', query.states as RolloutState[]))
        .$if(after !== undefined, (q) =>
          q.where((eb) => {
            const at = Number(after?.[1]);
            const id = String(after?.[2]);
            return eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]);
          }),
        )
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const more = rows.length > query.limit;
      const items = rows.slice(0, query.limit).map(toRollout);
      const last = items.at(-1);
      return { items, nextCursor: more && last !== undefined ? encodeCursor(['rollouts', last.createdAt.getTime(), last.id]) : null };
    });
  }

  memberCounts(ids: readonly string[]): Promise<Map<string, MemberCount[]>> {
    return this.run(async (db) => {
      const out = new Map<string, MemberCount[]>(ids.map((id) => [id, []]));
      for (const part of chunks(ids, ROLLOUT_CHUNK)) {
        const rows = await db
          .selectFrom('rollout_members')
          .where('rollout_id', 'in', part)
          .select(['rollout_id', 'wave', 'state', sql<number>`(case when state = 'offered' and soak_from is not null then 1 else 0 end)`.as('soaking'), (eb) => eb.fn.countAll<number | string>().as('n')])
          .groupBy(['rollout_id', 'wave', 'state', sql`(case when state = 'offered' and soak_from is not null then 1 else 0 end)`])
          .execute();
        for (const r of rows) out.get(r.rollout_id)?.push({ wave: num(r.wave), state: r.state as MemberState, count: num(r.n), ...(num(r.soaking) === 1 ? { soaking: true } : {}) });
      }
      return out;
    });
  }

  listSettlingRollouts(): Promise<Rollout[]> {
    return this.run(async (db) => {
      const ids = await db.selectFrom('rollout_members').select('rollout_id').distinct().where(sql<boolean>`revert like ${sql.lit(`${REVERTING_PREFIX}%`)}`).execute();
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('rollouts').selectAll().where('id', 'in', ids.map((r) => r.rollout_id)).where('state', 'not in', [...ACTIVE_ROLLOUT_STATES]).execute();
      return rows.map(toRollout);
    });
  }

  revertCounts(id: string): Promise<Record<RevertState, number>> {
    return this.run(async (db) => {
      const out: Record<RevertState, number> = { reverting: 0, reverted: 0, refused: 0 };
      const rows = await db.selectFrom('rollout_members').select('revert').where('rollout_id', '=', id).where('state', '=', 'failed').where('revert', 'is not', null).execute();
      for (const r of rows) {
        const state = (JSON.parse(r.revert as string) as { state: RevertState }).state;
        if (state in out) out[state] += 1;
      }
      return out;
    });
  }

  listMemberPage(id: string, query: MemberPageQuery): Promise<Page<RolloutMember>> {
    checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 2, 'members');
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('rollout_members')
        .selectAll()
        .where('rollout_id', '=', id)
        .$if(query.states !== undefined && query.states.length > 0, (q) => q.where('state', 'in', query.states as MemberState[]))
        .$if(query.wave !== undefined, (q) => q.where('wave', '=', query.wave as number))
        .$if(after !== undefined, (q) => q.where('eui', '>', String(after?.[1])))
        .orderBy('eui')
        .limit(query.limit + 1)
        .execute();
      const more = rows.length > query.limit;
      const items = rows.slice(0, query.limit).map(toMember);
      const last = items.at(-1);
      return { items, nextCursor: more && last !== undefined ? encodeCursor(['members', last.eui]) : null };
    });
  }

  listRolloutEventPage(id: string, query: RolloutEventPageQuery): Promise<Page<RolloutEventRecord>> {
    checkLimit(query.limit);
    const desc = query.order === 'desc';
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 2, desc ? 'events-desc' : 'events');
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('rollout_events')
        .selectAll()
        .where('rollout_id', '=', id)
        .$if(query.types !== undefined && query.types.length > 0, (q) => q.where('type', 'in', query.types as string[]))
        .$if(after !== undefined, (q) => q.where('id', desc ? '<' : '>', Number(after?.[1])))
        .orderBy('id', desc ? 'desc' : 'asc')
        .limit(query.limit + 1)
        .execute();
      const more = rows.length > query.limit;
      const items = rows.slice(0, query.limit).map(toRolloutEvent);
      const last = items.at(-1);
      return { items, nextCursor: more && last !== undefined ? encodeCursor([desc ? 'events-desc' : 'events', last.id]) : null };
    });
  }

  revertableCredentialBlobs(): Promise<Set<string>> {
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('rollout_members as m')
        .innerJoin('rollouts as r', 'r.id', 'm.rollout_id')
        .select('m.previous')
        .where('m.previous', 'like', '%"tcCred":{%')
        .where((eb) => eb.or([eb('r.state', 'in', [...ACTIVE_ROLLOUT_STATES]), eb('m.report_due', '=', 1), eb('m.revert', 'like', `${REVERTING_PREFIX}%`)]))
        .execute();
      const out = new Set<string>();
      for (const r of rows) {
        const blob = (JSON.parse(r.previous as string) as { tcCred?: { blob?: string } | null }).tcCred?.blob;
        if (typeof blob === 'string') out.add(blob);
      }
      return out;
    });
  }

  tcCredentials(euis: readonly string[]): Promise<Map<string, TcCredentialRow[]>> {
    return this.run(async (db) => {
      const out = new Map<string, TcCredentialRow[]>();
      const add = (eui: string, row: TcCredentialRow) => out.set(eui, [...(out.get(eui) ?? []), row]);
      for (const part of chunks(euis, ROLLOUT_CHUNK)) {
        const certs = await db.selectFrom('station_certificates').select(['eui', 'cred_crc', 'status', 'retired_reason', 'not_after']).where('eui', 'in', part).where('category', '=', 'tc').execute();
        for (const c of certs) add(c.eui, { crc: num(c.cred_crc), status: c.status as 'active', retiredReason: c.retired_reason, notAfter: c.not_after === null ? null : new Date(num(c.not_after)) });
        const tokens = await db.selectFrom('station_tokens').select(['eui', 'cred_crc', 'status', 'retired_reason']).where('eui', 'in', part).where('category', '=', 'tc').execute();
        for (const t of tokens) add(t.eui, { crc: num(t.cred_crc), status: t.status as 'active', retiredReason: t.retired_reason, notAfter: null });
      }
      return out;
    });
  }

  countMembers() {
    const SHOWN_STATE = sql<string>`case when m.state = 'offered' and m.soak_from is not null then 'soaking' else m.state end`;
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('rollout_members as m')
        .innerJoin('rollouts as r', 'r.id', 'm.rollout_id')
        .where('r.state', 'in', [...ACTIVE_ROLLOUT_STATES])
        // An offered member whose change was delivered and whose health soak runs is counted as `soaking`, not
        // `offered`, so the states still add up to the rollout's members (rollout show counts it under both).
        .select(['m.rollout_id', 'r.state as rollout_state', SHOWN_STATE.as('state'), (eb) => eb.fn.countAll<number | string>().as('n')])
        .groupBy(['m.rollout_id', 'r.state', SHOWN_STATE])
        .execute();
      return rows.map((r) => ({ rollout: r.rollout_id, rolloutState: r.rollout_state as RolloutState, state: r.state, count: num(r.n) }));
    });
  }

  callRhythms(euis: readonly string[]): Promise<Map<string, CallRhythm>> {
    return this.run(async (db) => {
      const out = new Map<string, CallRhythm>();
      const health = await selectHealth(db as unknown as Kysely<RegistryDatabase>, euis);
      for (const part of chunks(euis, ROLLOUT_CHUNK)) {
        const rows = await db.selectFrom('stations').select(['eui', 'last_seen_at']).where('eui', 'in', part).execute();
        for (const r of rows) out.set(r.eui, { lastSeenAt: r.last_seen_at === null ? null : new Date(num(r.last_seen_at)), health: health.get(r.eui) ?? null });
      }
      return out;
    });
  }

  observe(euis: readonly string[]): Promise<Map<string, StationObservation>> {
    return this.run(async (db) => {
      const out = new Map<string, StationObservation>();
      for (const part of chunks(euis, ROLLOUT_CHUNK)) {
        const rows = await db
          .selectFrom('stations as s')
          .leftJoin('firmware_targets as f', 'f.eui', 's.eui')
          .select(['s.eui', 's.tc_uri', 's.cups_uri', 's.cups_cred_crc', 's.tc_cred_crc', 's.tc_cred_blob', 's.tc_cred_size', 's.reported_cups_cred_crc', 's.reported_tc_cred_crc', 's.reported_at', 's.reported_model', 's.reported_package', 's.reported_tc_uri', 's.reported_cups_uri', 's.reported_keys', 's.last_seen_at',
            'f.package as fw_package', 'f.state as fw_state', 'f.offers as fw_offers', 'f.last_offered_at as fw_last_offered_at', 'f.last_error as fw_last_error'])
          .where('s.eui', 'in', part)
          .execute();
        // The health record's early run (0009_health): the soak's evidence of a call it did not see (core/rollout-soak.ts).
        const health = new Map((await db.withTables<HealthTables>().selectFrom('station_health').select(['eui', 'early_run', 'run_from']).where('eui', 'in', part).execute())
          .map((h) => [h.eui, { earlyRun: num(h.early_run), runFrom: h.run_from === null ? null : new Date(num(h.run_from)) }]));
        const rotations = await db.selectFrom('station_rotations').select(['eui', 'category', 'new_crc']).where('eui', 'in', part).execute();
        const pending = new Map<string, Partial<Record<'cups' | 'tc', number>>>();
        for (const p of rotations) pending.set(p.eui, { ...pending.get(p.eui), [p.category]: num(p.new_crc) });
        const crc = (v: number | string | null) => (v === null ? null : num(v));
        for (const r of rows) {
          out.set(r.eui, {
            exists: true,
            desired: { tcUri: r.tc_uri, cupsUri: r.cups_uri },
            reported: r.reported_at === null ? null : { model: r.reported_model ?? '', package: r.reported_package, tcUri: r.reported_tc_uri, cupsUri: r.reported_cups_uri },
            keys: JSON.parse(r.reported_keys ?? '[]') as number[],
            lastSeenAt: r.last_seen_at === null ? null : new Date(num(r.last_seen_at)),
            reportedAt: r.reported_at === null ? null : new Date(num(r.reported_at)),
            health: health.get(r.eui) ?? null,
            firmware: r.fw_package === null ? null : {
              package: r.fw_package,
              state: r.fw_state as 'pending',
              offers: num(r.fw_offers ?? 0),
              lastOfferedAt: r.fw_last_offered_at === null ? null : new Date(num(r.fw_last_offered_at)),
              lastError: r.fw_last_error,
            },
            credentials: {
              desired: { cups: crc(r.cups_cred_crc), tc: crc(r.tc_cred_crc) },
              reported: r.reported_at === null ? { cups: null, tc: null } : { cups: crc(r.reported_cups_cred_crc), tc: crc(r.reported_tc_cred_crc) },
              rotations: pending.get(r.eui) ?? {},
              tcCred: r.tc_cred_blob === null || r.tc_cred_crc === null ? null : { blob: r.tc_cred_blob, crc: num(r.tc_cred_crc), size: num(r.tc_cred_size ?? 0) },
            },
          });
        }
      }
      return out;
    });
  }

  claims(euis: readonly string[]): Promise<Map<string, string>> {
    return this.run((db) => claimsOf(db, euis));
  }

  applyStep(rollout: Rollout, step: RolloutStep, at: Date, credentials?: ReadonlyMap<string, CredentialPlan<unknown>>, audit?: AuditFor<true>): Promise<boolean> {
    return this.run((db) =>
      db.transaction().execute(async (trx) => {
        const applied = await writeStep(trx, rollout, step, at, credentials);
        // A superseded step wrote nothing, so it has nothing to record.
        if (applied) await writeAudit<RegistryDatabase & RolloutTables, true>(trx, audit, true);
        return applied;
      }),
    );
  }
}

async function claimsOf(db: Db | Transaction<RegistryDatabase & RolloutTables>, euis: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks(euis, ROLLOUT_CHUNK)) {
    const rows = await db.selectFrom('rollout_claims').select(['eui', 'rollout_id']).where('eui', 'in', part).execute();
    for (const r of rows) out.set(r.eui, r.rollout_id);
  }
  return out;
}

async function packageUse(db: Db | Transaction<RegistryDatabase & RolloutTables>, pkg: string): Promise<FirmwarePackageUse> {
  const [targets, failed, rollouts] = await Promise.all([
    db.selectFrom('firmware_targets').select('eui').where('package', '=', pkg).where('state', '!=', 'upgraded').orderBy('eui').execute(),
    db.selectFrom('firmware_targets').select(['eui', 'last_error']).where('package', '=', pkg).where('state', '=', 'failed').orderBy('eui').limit(20).execute(),
    db.selectFrom('rollouts').select(['id', 'change']).where('kind', '=', 'firmware').where('state', 'in', [...ACTIVE_ROLLOUT_STATES]).execute(),
  ]);
  return {
    stations: targets.map((t) => t.eui),
    failed: failed.map((t) => ({ eui: t.eui, lastError: t.last_error })),
    rollouts: rollouts.filter((r) => (JSON.parse(r.change) as { package: string }).package === pkg).map((r) => r.id),
  };
}
