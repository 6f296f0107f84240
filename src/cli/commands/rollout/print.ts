import { describeChange, isActive, type RolloutMember } from '../../../core/rollout.js';
import type { RolloutView } from '../../../operations/rollouts.js';
import type { Output } from '../../output.js';

/** The human view of a rollout: change, state, gate, halt reason, ETA, and counts per wave. */
export function printRollout(out: Output, v: RolloutView, members?: readonly RolloutMember[]): void {
  const { rollout: r, progress: p } = v;
  out.line(`rollout  ${r.id}${r.name === null ? '' : ` (${r.name})`}`);
  out.line(`change   ${describeChange(r.change)}`);
  out.line(`state    ${r.state}${r.rollbackOf === null ? '' : `, rolls back ${r.rollbackOf}`}`);
  out.line(`gate     ${p.gate}`);
  if (r.haltReason !== null) out.line(`halted   ${r.haltReason}`);
  out.line(`failures ${p.totals.failed} of ${p.failuresAllowed} allowed`);
  out.line(`eta      ${p.eta === null ? '-' : p.eta.toISOString()}`);
  out.line();
  out.table(
    p.waves.map((w) => ({ wave: `${w.wave}${w.wave === r.wave && isActive(r.state) ? ' *' : ''}`, stations: w.stations, pending: w.pending, offered: w.offered, confirmed: w.confirmed, failed: w.failed, skipped: w.skipped, reverted: w.reverted })),
    ['wave', 'stations', 'pending', 'offered', 'confirmed', 'failed', 'skipped', 'reverted'],
  );
  const notable = (members ?? []).filter((m) => m.state === 'failed' || m.state === 'skipped');
  if (notable.length > 0) {
    out.line();
    out.table(notable.map((m) => ({ station: m.eui, wave: m.wave, state: m.state, reason: m.reason ?? '' })), ['station', 'wave', 'state', 'reason']);
  }
}
