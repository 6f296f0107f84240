import { conflict, CupsError, invalid } from '../core/errors.js';
import { approverIdentity, describeChange, isActive, type RolloutState } from '../core/rollout.js';
import type { MemberChange, RolloutEvent } from '../core/rollout-gate.js';
import { parseEui } from '../protocol/index.js';
import { audited, authorize } from './context.js';
import type { RolloutContext } from './firmware-library.js';
import { view, writeGuarded, type RolloutView } from './rollouts.js';

/**
 * Approval (approve, deny) and retry of a rollout. Each is one guarded step
 * (rollouts.ts writeGuarded): the rollout row is written only at the version it
 * was decided on, so when two operators (or two replicas serving them) approve
 * the same rollout at once, one approval is written and the other, deciding
 * again on the row it lost to, finds it no longer waiting and is refused.
 */

/**
 * Approves (the rollout runs from its first wave at the next evaluation) or
 * denies (it is aborted, nothing was offered) a rollout waiting for approval.
 * Needs the operator role and another identity than the creator's
 * (core/rollout.ts approverIdentity: another API key, or locally another
 * operating-system user). The decision and its audit row commit together.
 */
export async function decideRollout(ctx: RolloutContext, id: string, decision: 'approve' | 'deny'): Promise<RolloutView> {
  authorize(ctx, 'operator', decision === 'approve' ? 'approving a rollout' : 'denying a rollout');
  const rollout = await writeGuarded(ctx, id, (r) => {
    if (r.state !== 'waiting_for_approval') {
      const already = r.approval === null ? '' : `; it was ${r.approval.decision} by ${r.approval.by} at ${r.approval.at.toISOString()}`;
      throw conflict('rollout_not_waiting', `rollout ${id} is ${r.state}, not waiting for approval${already}`, { state: r.state });
    }
    if (r.createdByIdentity !== null && r.createdByIdentity === approverIdentity(ctx.actor)) {
      throw new CupsError(
        'approval_by_creator',
        'permission_denied',
        `rollout ${id} was created by ${r.createdBy}: it must be ${decision === 'approve' ? 'approved' : 'denied'} by another operator (another API key, or locally another user); its creator can abort it`,
        { createdBy: r.createdBy },
      );
    }
    const at = ctx.clock();
    const approved = decision === 'approve';
    // A start time still ahead keeps it scheduled until then (the engine starts it once).
    const next = r.plan.startAt !== undefined && Date.parse(r.plan.startAt) > at.getTime() ? 'scheduled' : 'running';
    return {
      members: [],
      rollout: {
        state: approved ? next : 'aborted',
        approval: { decision: approved ? 'approved' : 'denied', by: ctx.actor.name, at },
        ...(approved ? {} : { haltReason: `denied by ${ctx.actor.name}` }),
      },
      events: [{ type: approved ? 'approved' : 'denied', message: `${approved ? 'approved' : 'denied'} by ${ctx.actor.name}${approved ? (next === 'scheduled' ? `; it starts as scheduled at ${r.plan.startAt ?? ''}` : '; wave 1 starts at the next evaluation') : '; nothing was offered'}` }],
    };
  }, () => audited(ctx, decision === 'approve' ? 'rollout.approve' : 'rollout.deny', id));
  if (decision === 'approve') ctx.rolloutsChanged?.();
  return view(ctx, rollout);
}

export interface RetryInput {
  /** Only these failed stations; none: every failed member. */
  readonly station?: readonly string[];
}

export interface RetryResult extends RolloutView {
  /** Members made pending again, offered afresh at the next evaluation. */
  readonly retried: readonly string[];
  /** Failed members left as they are, with why (another active rollout holds the station now). */
  readonly skipped: readonly { readonly eui: string; readonly reason: string }[];
}

/** States a retry may start from; a completed rollout runs again until its retried offers are judged. */
const RETRY_FROM: readonly RolloutState[] = ['running', 'paused', 'halted', 'completed'];

/**
 * Offers the rollout's change again to its failed members: each goes back to
 * pending in the current wave (the last one for a completed rollout), and the
 * engine offers it at the next evaluation, as a new offer (firmware: a new
 * offer count towards --max-offers) with a new deadline, under the same gates:
 * the wave is judged again with the retried offers, and the failure budget
 * counts them as they end. A halted or completed rollout runs again; a paused
 * one stays paused until resumed. What a station had before the first offer is
 * kept, so a rollback still restores it.
 */
export async function retryRollout(ctx: RolloutContext, id: string, input: RetryInput = {}): Promise<RetryResult> {
  authorize(ctx, 'operator', 'retrying a rollout');
  const only = input.station === undefined || input.station.length === 0 ? undefined : new Set(input.station.map((e) => parseEui(e, 'station')));
  let retried: string[] = [];
  let skipped: { eui: string; reason: string }[] = [];
  const rollout = await writeGuarded(ctx, id, async (r, members) => {
    if (!RETRY_FROM.includes(r.state)) {
      throw conflict('rollout_state', `rollout ${id} is ${r.state}; only a ${RETRY_FROM.join(', ')} rollout can be retried${r.state === 'waiting_for_approval' ? ' (it has offered nothing yet)' : ''}`, { state: r.state });
    }
    const failed = members.filter((m) => m.state === 'failed' && (only === undefined || only.has(m.eui)));
    if (only !== undefined) {
      const known = new Set(failed.map((m) => m.eui));
      const not = [...only].filter((e) => !known.has(e));
      if (not.length > 0) throw invalid('not_failed', `only failed members can be retried; not failed in rollout ${id}: ${not.join(', ')} (see bscups rollout members ${id} --state failed)`, { stations: not });
    }
    if (failed.length === 0) throw conflict('nothing_to_retry', `rollout ${id} has no failed member to retry`);
    // A completed rollout released its stations: it can only take back those no other active rollout holds now.
    const reclaim = !isActive(r.state);
    const held = reclaim ? await ctx.rollouts.claims(failed.map((m) => m.eui)) : new Map<string, string>();
    const wave = Math.max(1, r.wave);
    const changes: MemberChange[] = [];
    const events: RolloutEvent[] = [];
    retried = [];
    skipped = [];
    for (const m of failed) {
      const other = held.get(m.eui);
      if (other !== undefined) {
        skipped.push({ eui: m.eui, reason: `held by active rollout ${other}` });
        continue;
      }
      retried.push(m.eui);
      const reason = `retry by ${ctx.actor.name} (failed before: ${m.reason ?? 'no reason recorded'})`;
      changes.push({ eui: m.eui, wave, state: 'pending', reason, retry: { reclaim } });
      events.push({ type: 'retried', eui: m.eui, wave, message: `${describeChange(r.change)}: retried in wave ${wave}, offered again at the next evaluation (failed before: ${m.reason ?? 'no reason recorded'})` });
    }
    if (retried.length === 0) throw conflict('nothing_to_retry', `every failed member of rollout ${id} is held by another active rollout now: ${skipped.map((s) => `${s.eui} (${s.reason})`).join(', ')}`);
    const resumes = r.state === 'halted' || r.state === 'completed';
    return {
      members: changes,
      rollout: { wavePassedAt: null, ...(r.wave === 0 ? {} : { wave }), ...(resumes ? { state: 'running', haltReason: null } : {}) },
      events: [
        ...events,
        { type: 'retried', wave, message: `retry by ${ctx.actor.name}: ${retried.length} failed station(s) offered again in wave ${wave}${resumes ? `; the ${r.state} rollout runs again` : ''}${skipped.length > 0 ? `; ${skipped.length} held by another rollout left failed` : ''}` },
      ],
    };
  }, () => audited(ctx, 'rollout.retry', id, { stations: retried, skipped: skipped.map((s) => s.eui) }));
  ctx.rolloutsChanged?.();
  return { ...(await view(ctx, rollout)), retried, skipped };
}
