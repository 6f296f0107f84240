import { describeChange, type Rollout } from '../core/rollout.js';
import type { RolloutStep } from '../core/rollout-gate.js';
import type { NewAuditEntry } from '../registry/index.js';
import { auditRow, SERVER_ACTOR } from './context.js';

/**
 * The audit row of a step the rollout engine writes (actor `server`), in the
 * step's transaction: which stations it changed (offered the rollout's change,
 * or set back), how members moved, and what happened to the rollout.
 */
export function engineStepAudit(rollout: Rollout, step: RolloutStep, at: Date): NewAuditEntry {
  const members: Record<string, number> = {};
  // A soak starting (core/rollout-soak.ts) keeps the member offered: counted as soaking, not as another offer.
  for (const m of step.members) {
    const moved = m.state === 'offered' && m.soakFrom !== undefined && m.offer === undefined ? 'soaking' : m.state;
    members[moved] = (members[moved] ?? 0) + 1;
  }
  const { waveStartedAt, wavePassedAt, ...change } = step.rollout;
  return auditRow(SERVER_ACTOR, at, 'rollout.step', rollout.id, {
    change: describeChange(rollout.change),
    offered: step.members.filter((m) => m.offer !== undefined).map((m) => m.eui),
    restored: step.members.filter((m) => m.restore !== undefined).map((m) => m.eui),
    ...(step.members.some((m) => m.revert !== undefined)
      ? { reverts: Object.fromEntries(step.members.filter((m) => m.revert !== undefined).map((m) => [m.eui, { state: m.revert?.state, ...(m.revert?.offer === undefined ? {} : { setBack: m.revert.offer }) }])) }
      : {}),
    members,
    ...change,
    ...(waveStartedAt === undefined ? {} : { waveStartedAt: waveStartedAt?.toISOString() ?? null }),
    ...(wavePassedAt === undefined ? {} : { wavePassedAt: wavePassedAt?.toISOString() ?? null }),
  });
}
