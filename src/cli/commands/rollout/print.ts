import type { z } from 'zod';
import { describeChange, isActive, type RolloutChange } from '../../../core/rollout.js';
import type { Rollout, RolloutMember } from '../../../http/admin/rollout-schemas.js';
import type { Output } from '../../output.js';
import { spoken } from '../../../core/health-reason.js';

type RolloutJson = z.infer<typeof Rollout>;

/** The change in words; the API's change object is the rollout's own. */
export function changeText(r: RolloutJson): string {
  return describeChange(r.change as unknown as RolloutChange);
}

/** The human view of a rollout: change, state, gate, halt reason, ETA, and counts per wave. */
export function printRollout(out: Output, r: RolloutJson, members?: readonly z.infer<typeof RolloutMember>[]): void {
  out.line(`rollout  ${r.id}${r.name === null ? '' : ` (${r.name})`}`);
  out.line(`change   ${changeText(r)}`);
  out.line(`state    ${r.state}${r.rollbackOf === null ? '' : `, rolls back ${r.rollbackOf}`}`);
  out.line(`gate     ${r.gate}`);
  if (r.haltReason !== null) out.line(`halted   ${r.haltReason}`);
  if (r.state === 'halted') out.line('         no new offers; offers not fetched yet were withdrawn and are made again on resume');
  out.line(`failures ${r.totals.failed} of ${r.failuresAllowed} allowed`);
  // PROTOCOL.md 8.3: the station asks for a change only when it calls; a healthy one calls at its regular check.
  out.line(`eta      ${r.eta ?? '-'}${r.eta === null ? '' : ` (${r.etaNote})`}`);
  const soak = typeof r.plan['healthSoakMs'] === 'number' ? r.plan['healthSoakMs'] : 0;
  out.line(`soak     ${soak > 0 ? `${spoken(soak)} after each station's change: a call to CUPS within it fails the station; ${r.totals.soaking} soaking now` : 'none: a station confirms when it reports the change'}`);
  out.line();
  out.table(
    r.waves.map((w) => ({ wave: `${w.wave}${w.wave === r.wave && isActive(r.state) ? ' *' : ''}`, stations: w.stations, pending: w.pending, offered: w.offered, soaking: w.soaking, confirmed: w.confirmed, failed: w.failed, skipped: w.skipped, reverted: w.reverted })),
    ['wave', 'stations', 'pending', 'offered', 'soaking', 'confirmed', 'failed', 'skipped', 'reverted'],
  );
  const notable = (members ?? []).filter((m) => m.state === 'failed' || m.state === 'skipped'); // the caller reads only those
  if (notable.length > 0) {
    out.line();
    out.table(notable.map((m) => ({ station: m.eui, wave: m.wave, state: m.state, reason: m.reason ?? '' })), ['station', 'wave', 'state', 'reason']);
  }
}
