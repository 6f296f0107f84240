import type { Selectable } from 'kysely';
import type { MemberRevert, MemberState, PreviousConfig, Rollout, RolloutChange, RolloutMember, RolloutPlan, RolloutSelector, RolloutState } from '../core/rollout.js';
import type { RolloutEventType } from '../core/rollout-gate.js';
import { date, dateOrNull, num, toFirmwareUpdate } from './row-mapping.js';
import type { RolloutTables } from './rollout-schema.js';
import type { FirmwarePackage, RolloutEventRecord } from './rollout-types.js';

export function toPackage(row: Selectable<RolloutTables['firmware_packages']>): FirmwarePackage {
  return {
    ...toFirmwareUpdate(row),
    models: JSON.parse(row.models) as string[],
    createdBy: row.created_by,
    createdAt: date(row.created_at),
  };
}

export function toRollout(row: Selectable<RolloutTables['rollouts']>): Rollout {
  const plan = JSON.parse(row.plan) as RolloutPlan;
  return {
    id: row.id,
    name: row.name,
    change: JSON.parse(row.change) as RolloutChange,
    selector: JSON.parse(row.selector) as RolloutSelector,
    plan,
    waveSizes: JSON.parse(row.wave_sizes) as number[],
    state: row.state as RolloutState,
    wave: num(row.wave),
    waveStartedAt: dateOrNull(row.wave_started_at),
    wavePassedAt: dateOrNull(row.wave_passed_at),
    haltReason: row.halt_reason,
    rollbackOf: row.rollback_of,
    createdBy: row.created_by,
    createdByIdentity: row.created_by_identity,
    approval: row.approval === null || row.approved_by === null || row.approved_at === null ? null : { decision: row.approval as 'approved' | 'denied', by: row.approved_by, at: date(row.approved_at) },
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
    version: num(row.version),
  };
}

export function toMember(row: Selectable<RolloutTables['rollout_members']>): RolloutMember {
  return {
    eui: row.eui,
    wave: num(row.wave),
    state: row.state as MemberState,
    reason: row.reason,
    previous: row.previous === null ? null : (JSON.parse(row.previous) as PreviousConfig),
    offeredAt: dateOrNull(row.offered_at),
    deadlineAt: dateOrNull(row.deadline_at),
    doneAt: dateOrNull(row.done_at),
    revert: row.revert === null || row.revert === undefined ? null : toRevert(row.revert),
    soakFrom: dateOrNull(row.soak_from),
    reportDue: num(row.report_due) !== 0,
  };
}

function toRevert(text: string): MemberRevert {
  const r = JSON.parse(text) as { state: MemberRevert['state']; reason: string; at: number; doneAt: number | null };
  return { state: r.state, reason: r.reason, at: new Date(r.at), doneAt: r.doneAt === null ? null : new Date(r.doneAt) };
}

/** A member's revert as stored (0018_revert). */
export function revertColumn(r: MemberRevert): string {
  return JSON.stringify({ state: r.state, reason: r.reason, at: r.at.getTime(), doneAt: r.doneAt?.getTime() ?? null });
}

export function toRolloutEvent(row: Selectable<RolloutTables['rollout_events']>): RolloutEventRecord {
  return {
    id: num(row.id),
    at: date(row.at),
    type: row.type as RolloutEventType,
    wave: row.wave === null ? null : num(row.wave),
    eui: row.eui,
    message: row.message,
  };
}
