import type { z } from 'zod';
import { describeChange, isActive, type RolloutChange } from '../../../core/rollout.js';
import type { Rollout, RolloutMember } from '../../../http/admin/rollout-schemas.js';
import type { Output } from '../../output.js';

type RolloutJson = z.infer<typeof Rollout>;

/** The change in words; the API's change object is the rollout's own. */
export function changeText(r: RolloutJson): string {
  return describeChange(r.change as unknown as RolloutChange);
}

/** The human view of a rollout: change, state, gate, halt reason, ETA, and counts per wave. */
export function printRollout(out: Output, r: RolloutJson, members?: readonly z.infer<typeof RolloutMember>[]): void {
  out.line(`rollout  ${r.id}${r.name === null ? '' : ` (${r.name})`}`);
  out.line(`change   ${changeText(r)}`);
  out.line(`state    ${r.state}: ${r.stateText}${r.rollbackOf === null ? '' : `, rolls back ${r.rollbackOf}`}`);
  if (r.approval !== null) out.line(`${r.approval.decision.padEnd(8)} by ${r.approval.by} at ${r.approval.at}`);
  out.line(`pace     ${pacingText(r.pacing)}`);
  out.line(`gate     ${r.gate}`);
  if (r.haltReason !== null) out.line(`halted   ${r.haltReason}`);
  if (r.state === 'halted') out.line('         no new offers; offers not fetched yet were withdrawn and are made again on resume');
  out.line(`failures ${r.totals.failed} of ${r.failuresAllowed} allowed`);
  // PROTOCOL.md 8.3: the station asks for a change only when it calls; a healthy one calls at its regular check.
  out.line(`eta      ${r.eta ?? '-'}${r.eta === null ? '' : ' (a change reaches a healthy station at its next regular check, up to 24 h after it was made; a station whose LNS connection fails asks within minutes)'}`);
  out.line();
  out.table(
    r.waves.map((w) => ({ wave: `${w.wave}${w.wave === r.wave && isActive(r.state) ? ' *' : ''}`, stations: w.stations, pending: w.pending, offered: w.offered, confirmed: w.confirmed, failed: w.failed, skipped: w.skipped, reverted: w.reverted })),
    ['wave', 'stations', 'pending', 'offered', 'confirmed', 'failed', 'skipped', 'reverted'],
  );
  const notable = (members ?? []).filter((m) => m.state === 'failed' || m.state === 'skipped'); // the caller reads only those
  if (notable.length > 0) {
    out.line();
    out.table(notable.map((m) => ({ station: m.eui, wave: m.wave, state: m.state, reason: m.reason ?? '' })), ['station', 'wave', 'state', 'reason']);
  }
}

/** Both paces in words: the rollout's offers per minute, the server's firmware downloads in flight. */
export function pacingText(p: RolloutJson['pacing']): string {
  const offers = p.maxOffersPerMinute === null ? 'offers unpaced' : `at most ${p.maxOffersPerMinute} offer(s) per minute`;
  const downloads =
    p.maxConcurrentDownloads === null
      ? p.downloadsInFlight === null ? 'server download cap not known here (ask a server: --server)' : `no server cap on downloads (${p.downloadsInFlight} in flight)`
      : `server streams at most ${p.maxConcurrentDownloads} firmware download(s) at once${p.downloadsInFlight === null ? '' : ` (${p.downloadsInFlight} now)`}`;
  return `${offers}; ${downloads}`;
}
