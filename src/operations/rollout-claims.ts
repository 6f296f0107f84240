import { conflict } from '../core/errors.js';
import { describeChange, isActive, type CredentialCategory, type Rollout, type RolloutChange } from '../core/rollout.js';
import type { RolloutStep } from '../core/rollout-gate.js';
import { audited } from './context.js';
import type { RolloutContext } from './firmware-library.js';

/**
 * Direct changes to a station an active rollout holds. A rollout (running,
 * paused or halted) owns what it changes on its stations: a direct change of
 * the same kind (firmware, TC URI, CUPS URI, a credential it rotates) would
 * interleave with its offers and gate. Such a change is refused unless forced;
 * a forced one is recorded in the rollout as made outside it (see recordForced).
 */

/** What a direct change touches, in the terms of a rollout's change. */
export type DirectChange = { readonly kind: 'firmware' | 'tcUri' | 'cupsUri' } | { readonly kind: 'credentials'; readonly category: CredentialCategory };

export interface HeldStation {
  readonly eui: string;
  readonly rollout: Rollout;
}

function sameKind(change: RolloutChange, direct: DirectChange): boolean {
  if (direct.kind === 'credentials') return change.kind === 'credentials' && change.categories.includes(direct.category);
  return change.kind === direct.kind;
}

/**
 * The stations among `euis` held by an active rollout of the same kind. Without
 * `force`, refuses with a conflict naming each rollout and the ways on; with it,
 * returns them for recordForced once the change is made.
 */
export async function checkRolloutClaims(ctx: RolloutContext, euis: readonly string[], direct: DirectChange, what: string, force: boolean): Promise<HeldStation[]> {
  if (euis.length === 0) return [];
  const claims = await ctx.rollouts.claims(euis);
  const rollouts = new Map<string, Rollout | undefined>();
  const held: HeldStation[] = [];
  for (const [eui, id] of claims) {
    if (!rollouts.has(id)) rollouts.set(id, await ctx.rollouts.getRollout(id));
    const rollout = rollouts.get(id);
    if (rollout !== undefined && isActive(rollout.state) && sameKind(rollout.change, direct)) held.push({ eui, rollout });
  }
  if (held.length > 0 && !force) {
    const list = held.map((h) => `${h.eui} is in ${h.rollout.state} rollout ${h.rollout.id} (${describeChange(h.rollout.change)})`).join(', ');
    const ids = [...new Set(held.map((h) => h.rollout.id))];
    throw conflict(
      'station_in_rollout',
      `${what} refused: ${list}. Abort the rollout first (bscups rollout abort ${ids.join(' / ')}), or force the change (--force; "force": true in the API), which the rollout then records as made outside it`,
      { stations: held.map((h) => ({ eui: h.eui, rollout: h.rollout.id })) },
    );
  }
  return held;
}

/**
 * Records a forced direct change in each rollout holding the station: a member
 * not offered yet is skipped with the reason, so the rollout does not overwrite
 * the operator's change; an offered one is failed by the rollout's own judgement
 * at its next evaluation ("changed outside the rollout").
 */
export async function recordForced(ctx: RolloutContext, held: readonly HeldStation[], what: string): Promise<void> {
  const byRollout = new Map<string, string[]>();
  for (const h of held) byRollout.set(h.rollout.id, [...(byRollout.get(h.rollout.id) ?? []), h.eui]);
  for (const [id, euis] of byRollout) {
    for (let attempt = 0; ; attempt++) {
      const rollout = await ctx.rollouts.getRollout(id);
      if (rollout === undefined || !isActive(rollout.state)) break;
      const members = new Map((await ctx.rollouts.listMembers(id)).map((m) => [m.eui, m]));
      const reason = `changed outside the rollout: ${what} forced by ${ctx.actor.name}`;
      const step: RolloutStep = { members: [], rollout: {}, events: [] };
      for (const eui of euis) {
        const m = members.get(eui);
        if (m === undefined || m.state !== 'pending') continue;
        step.members.push({ eui, wave: m.wave, state: 'skipped', reason });
        step.events.push({ type: 'skipped', eui, wave: m.wave, message: `${describeChange(rollout.change)}: skipped (${reason})` });
      }
      const audit = audited(ctx, 'rollout.skip_forced', id, { stations: step.members.map((m) => m.eui), reason });
      if (step.members.length === 0 || (await ctx.rollouts.applyStep(rollout, step, ctx.clock(), undefined, audit))) break;
      if (attempt >= 9) throw conflict('rollout_busy', `rollout ${id} kept changing while the forced change was recorded; the change itself was made`);
    }
  }
}
