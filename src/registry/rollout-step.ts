import type { Kysely, Transaction } from 'kysely';
import { conflict, CupsError, notFound } from '../core/errors.js';
import type { CredentialRef } from '../core/model.js';
import { isActive, type PreviousConfig, type Rollout } from '../core/rollout.js';
import type { MemberChange, RolloutStep } from '../core/rollout-gate.js';
import type { CredentialPlan } from './auth-types.js';
import { applyCredentialChange } from './credential-change.js';
import { upsertRotation } from './station-auth.js';
import type { RegistryDatabase } from './db-schema.js';
import { chunks } from './chunks.js';
import { isUniqueViolation } from './db-errors.js';
import { eventColumns, firmwareColumns } from './row-mapping.js';
import type { RolloutTables } from './rollout-schema.js';
import { revertColumn, toPackage } from './rollout-rows.js';
import { rolloutWebhookEvent } from './webhooks/event-hooks.js';
import { queueWebhookEvents } from './webhooks/outbox.js';

const TERMINAL_MEMBER = new Set(['confirmed', 'failed', 'skipped', 'reverted']);
/** Rows per statement in rollout writes: small enough for one statement's parameters on both drivers. */
export const ROLLOUT_CHUNK = 500;

/** The guarded write of one step; see RolloutStore.applyStep. */
export async function writeStep(
  trx: Transaction<RegistryDatabase & RolloutTables>,
  rollout: Rollout,
  step: RolloutStep,
  at: Date,
  credentials?: ReadonlyMap<string, CredentialPlan<unknown>>,
): Promise<boolean> {
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
      ...(r.approval === undefined ? {} : { approval: r.approval.decision, approved_by: r.approval.by, approved_at: r.approval.at.getTime() }),
    })
    .where('id', '=', rollout.id)
    .where('version', '=', rollout.version)
    .executeTakeFirst();
  if (guarded.numUpdatedRows === 0n) return false;
  await queueWebhookEvents(trx as unknown as Kysely<RegistryDatabase>, rolloutWebhookEvent(rollout, r.state, r.haltReason, at));

  const change = rollout.change;
  const pkg = change.kind === 'firmware' && step.members.some((m) => m.offer !== undefined)
    ? await trx.selectFrom('firmware_packages').selectAll().where('package', '=', change.package).executeTakeFirst()
    : undefined;
  if (change.kind === 'firmware' && pkg === undefined && step.members.some((m) => m.offer !== undefined)) {
    throw notFound('package_not_found', `package ${change.package} is no longer in the firmware library; rollout ${rollout.id} cannot offer it`);
  }
  for (const m of step.members) {
    await writeMember(trx, rollout, m, now);
    if (m.revert?.offer !== undefined) await revertStation(trx, rollout, m.eui, m.revert.offer, at);
    if (m.withdraw !== undefined) await withdrawOffer(trx, rollout, m.eui, m.withdraw, now);
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
      } else if (change.kind === 'credentials') {
        // The rotation rides in the step's transaction: the offer, the new credentials
        // (registered, desired, rotation started) and the rollout's version commit together.
        const plan = credentials?.get(m.eui);
        if (plan === undefined) throw new CupsError('rotation_not_prepared', 'internal', `rollout ${rollout.id} offered station ${m.eui} a credential rotation that was not prepared`);
        await applyCredentialChange(trx as unknown as Kysely<RegistryDatabase>, m.eui, plan, at, undefined);
      }
    }
    if (m.restore !== undefined && (change.kind === 'tcUri' || change.kind === 'cupsUri')) {
      // Only while the desired URI is still the rollout's: a change made since is kept (the step is refused whole).
      const restored = change.kind === 'tcUri'
        ? await trx.updateTable('stations').set({ tc_uri: m.restore.tcUri, updated_at: now }).where('eui', '=', m.eui).where('tc_uri', '=', change.uri).executeTakeFirst()
        : await trx.updateTable('stations').set({ cups_uri: m.restore.cupsUri, updated_at: now }).where('eui', '=', m.eui).where('cups_uri', '=', change.uri).executeTakeFirst();
      if (restored.numUpdatedRows === 0n) throw conflict('station_changed', `station ${m.eui}'s desired ${change.kind} changed while rollout ${rollout.id} was rolled back; nothing was set back, try again`);
    }
  }
  for (const part of chunks(step.events, ROLLOUT_CHUNK)) {
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

/**
 * Takes back an offer the station has not fetched (core/rollout-withdraw.ts), guarded on the
 * station's rows as the step was decided: a station that fetched it meanwhile refuses the step whole.
 */
async function withdrawOffer(trx: Transaction<RegistryDatabase & RolloutTables>, rollout: Rollout, eui: string, previous: PreviousConfig, now: number): Promise<void> {
  const change = rollout.change;
  let done: { numDeletedRows?: bigint; numUpdatedRows?: bigint } | undefined;
  if (change.kind === 'firmware') {
    const r = await trx.deleteFrom('firmware_targets').where('eui', '=', eui).where('package', '=', change.package).where('offers', '=', 0).where('state', 'in', ['pending', 'offered']).executeTakeFirst();
    done = { numDeletedRows: r.numDeletedRows };
    await trx.updateTable('stations').set({ updated_at: now }).where('eui', '=', eui).execute();
  } else if (change.kind === 'tcUri') {
    done = await trx.updateTable('stations').set({ tc_uri: previous.tcUri, updated_at: now }).where('eui', '=', eui).where('tc_uri', '=', change.uri).executeTakeFirst();
  } else if (change.kind === 'cupsUri') {
    done = await trx.updateTable('stations').set({ cups_uri: previous.cupsUri, updated_at: now }).where('eui', '=', eui).where('cups_uri', '=', change.uri).executeTakeFirst();
  }
  if (done !== undefined && (done.numDeletedRows ?? done.numUpdatedRows) === 0n) {
    throw conflict('station_changed', `station ${eui} fetched or changed its offer of rollout ${rollout.id} while the offer was being withdrawn; nothing was written, try again`);
  }
}

/**
 * Sets back on the station what a failed member had before (core/rollout-revert.ts):
 * its TC URI, only while the desired one is still the rollout's (else the step is
 * refused whole and decided again), or its previous package as its firmware target.
 */
async function revertStation(trx: Transaction<RegistryDatabase & RolloutTables>, rollout: Rollout, eui: string, offer: NonNullable<NonNullable<MemberChange['revert']>['offer']>, at: Date): Promise<void> {
  const now = at.getTime();
  const change = rollout.change;
  if ('tcUri' in offer && change.kind === 'tcUri') {
    const done = await trx.updateTable('stations').set({ tc_uri: offer.tcUri, updated_at: now }).where('eui', '=', eui).where('tc_uri', '=', change.uri).executeTakeFirst();
    if (done.numUpdatedRows === 0n) throw conflict('station_changed', `station ${eui}'s desired TC URI changed while rollout ${rollout.id} was setting it back; nothing was written, try again`);
    return;
  }
  if ('package' in offer && change.kind === 'firmware') {
    const row = await trx.selectFrom('firmware_packages').selectAll().where('package', '=', offer.package).executeTakeFirst();
    if (row === undefined) throw notFound('package_not_found', `package ${offer.package} left the firmware library while rollout ${rollout.id} was offering it back to station ${eui}; try again`);
    const p = toPackage(row);
    const columns = firmwareColumns({ package: p.package, blob: p.blob, size: p.size, sha256: p.sha256, signatures: p.signatures, maxOffers: change.maxOffers, fromPackage: change.package, requestedAt: at });
    await trx.insertInto('firmware_targets').values({ eui, ...columns }).onConflict((oc) => oc.column('eui').doUpdateSet(columns)).execute();
    await trx.updateTable('stations').set({ updated_at: now }).where('eui', '=', eui).execute();
    return;
  }
  if ('tcCred' in offer && change.kind === 'credentials') {
    await revertTcCredential(trx, rollout, eui, offer, at);
    return;
  }
  throw new CupsError('revert_mismatch', 'internal', `rollout ${rollout.id} (${change.kind}) cannot set back ${JSON.stringify(offer)} on station ${eui}`);
}

/**
 * A TC credential rotation set back: the station's desired TC credential is the
 * one the rotation replaced again (only while it is still the rotation's: else the
 * step is refused whole and decided again), the rotation still pending is dropped,
 * the credential the rollout issued is retired and the one it replaced, retired by
 * the rotation, is active again. What an operator revoked stays revoked.
 */
async function revertTcCredential(trx: Transaction<RegistryDatabase & RolloutTables>, rollout: Rollout, eui: string, offer: { readonly tcCred: CredentialRef; readonly from: number }, at: Date): Promise<void> {
  const now = at.getTime();
  const back = offer.tcCred;
  const done = await trx
    .updateTable('stations')
    .set({ tc_cred_blob: back.blob, tc_cred_crc: back.crc, tc_cred_size: back.size, updated_at: now })
    .where('eui', '=', eui)
    .where('tc_cred_crc', '=', offer.from)
    .executeTakeFirst();
  if (done.numUpdatedRows === 0n) throw conflict('station_changed', `station ${eui}'s desired TC credential changed while rollout ${rollout.id} was setting it back; nothing was written, try again`);
  // The credential given back is a rotation again: pending until the station reports it (then what else is active retires),
  // as one an operator had pending when the rollout replaced it was.
  await upsertRotation(trx as unknown as Kysely<RegistryDatabase>, eui, { category: 'tc', newCrc: back.crc, targetMode: null }, at);
  const retire = { status: 'retired', retired_at: now, retired_reason: `reverted by rollout ${rollout.id}` } as const;
  const active = { status: 'active', retired_at: null, retired_reason: null } as const;
  const tc = (table: 'station_certificates' | 'station_tokens', status: 'active' | 'retired', crc: number) =>
    trx.updateTable(table).where('eui', '=', eui).where('category', '=', 'tc').where('status', '=', status).where('cred_crc', '=', crc);
  const retired = [
    ...(await tc('station_certificates', 'active', offer.from).set(retire).returning('fingerprint').execute()).map((r) => `certificate ${r.fingerprint.slice(0, 16)}…`),
    ...(await tc('station_tokens', 'active', offer.from).set(retire).returning('id').execute()).map((r) => `token ${r.id}`),
  ];
  const restored = [
    ...(await tc('station_certificates', 'retired', back.crc).where('retired_reason', '=', 'rotated').set(active).returning('fingerprint').execute()).map((r) => `certificate ${r.fingerprint.slice(0, 16)}…`),
    ...(await tc('station_tokens', 'retired', back.crc).where('retired_reason', '=', 'rotated').set(active).returning('id').execute()).map((r) => `token ${r.id}`),
  ];
  const message = `tc credential set back to crc ${back.crc} by rollout ${rollout.id}` +
    (retired.length > 0 ? `; retired ${retired.join(', ')}` : '') + (restored.length > 0 ? `; active again ${restored.join(', ')}` : '');
  await trx.insertInto('station_events').values(eventColumns(eui, { type: 'auth', message, detail: { category: 'tc', crc: back.crc, from: offer.from, rollout: rollout.id, retired, restored } }, at)).execute();
}

async function writeMember(trx: Transaction<RegistryDatabase & RolloutTables>, rollout: Rollout, m: MemberChange, now: number): Promise<void> {
  if (m.revertOnly === true && m.revert !== undefined) {
    await trx.updateTable('rollout_members').set({ revert: revertColumn(m.revert) }).where('rollout_id', '=', rollout.id).where('eui', '=', m.eui).execute();
    return;
  }
  const done = TERMINAL_MEMBER.has(m.state) ? now : null;
  if (m.retry?.reclaim === true) {
    try {
      await trx.insertInto('rollout_claims').values({ eui: m.eui, rollout_id: rollout.id }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('station_claimed', `station ${m.eui} joined another active rollout while the retry was written; nothing was retried, try again`);
      throw e;
    }
  }
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
      // A member taken into an earlier wave in place of one skipped or already done moves with it (core/rollout-gate.ts waveSlots).
      wave: m.wave,
      state: m.state,
      reason: m.reason,
      done_at: done,
      ...(m.revert === undefined ? {} : { revert: revertColumn(m.revert) }),
      ...(m.offer === undefined ? {} : { previous: JSON.stringify(m.offer.previous), offered_at: now, deadline_at: m.offer.deadlineAt.getTime() }),
      // A withdrawn offer no longer counts as one (waves count offers); back to pending, it may be made again.
      ...(m.withdraw === undefined ? {} : { offered_at: null, deadline_at: null, ...(m.state === 'pending' ? { previous: null } : {}) }),
      ...(m.soakFrom === undefined ? {} : { soak_from: m.soakFrom.getTime() }),
      ...(m.reportDue === undefined ? {} : { report_due: m.reportDue ? 1 : 0 }),
      // An offer made again (after a withdrawal) soaks from its own delivery.
      ...(m.offer === undefined && m.withdraw === undefined ? {} : { soak_from: null, report_due: 0 }),
      // A retried member is offered afresh: a new offer (and deadline) at its next evaluation; `previous` stays the first one's.
      ...(m.retry === undefined ? {} : { offered_at: null, deadline_at: null, soak_from: null, report_due: 0 }),
    })
    .where('rollout_id', '=', rollout.id)
    .where('eui', '=', m.eui)
    .execute();
}
