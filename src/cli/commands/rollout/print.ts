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
  out.line(`state    ${r.state}: ${r.stateText}${r.rollbackOf === null ? '' : `, rolls back ${r.rollbackOf}`}`);
  if (r.approval !== null) out.line(`${r.approval.decision.padEnd(8)} by ${r.approval.by} at ${r.approval.at}`);
  if (r.startAt !== null) out.line(`start    ${r.startAt}${r.state === 'scheduled' ? ' (scheduled: nothing is offered before; rollout abort cancels it)' : ''}`);
  if (r.windows.length > 0) out.line(`windows  ${r.windows.join('; ')} (offers only inside; an offer not fetched when a window closes is taken back)`);
  out.line(`pace     ${pacingText(r.pacing)}`);
  out.line(`gate     ${r.gate}`);
  if (r.haltReason !== null) out.line(`halted   ${r.haltReason}`);
  if (r.state === 'halted') out.line('         no new offers; offers not fetched yet were withdrawn and are made again on resume');
  out.line(`failures ${r.totals.failed} of ${r.failuresAllowed} allowed`);
  const rv = r.reverts;
  if (rv !== undefined && (rv.reverting > 0 || rv.reverted > 0 || rv.refused > 0)) {
    out.line(`reverts  ${rv.reverted} reverted, ${rv.reverting} reverting (set back, delivered at the station's next exchange)${rv.refused > 0 ? `, ${rv.refused} could not be reverted` : ''}`);
  } else if ((r.plan as { revertUnhealthy?: boolean }).revertUnhealthy === true) out.line('reverts  on: a station that fails gets back what it had before at its next exchange');
  // PROTOCOL.md 8.3: the station asks for a change only when it calls; a healthy one calls at its regular check.
  out.line(`eta      ${r.eta ?? '-'}${r.eta === null ? '' : ` (${r.etaNote})`}`);
  const soak = typeof r.plan['healthSoakMs'] === 'number' ? r.plan['healthSoakMs'] : 0;
  out.line(`soak     ${soak > 0 ? `${spoken(soak)} after each station's change: a call to CUPS within it fails the station; ${r.totals.soaking} soaking now` : 'none: a station confirms when it reports the change'}`);
  out.line();
  out.table(
    r.waves.map((w) => ({ wave: `${w.wave}${w.wave === r.wave && isActive(r.state) ? ' *' : ''}`, stations: w.stations, pending: w.pending, offered: w.offered, soaking: w.soaking, confirmed: w.confirmed, failed: w.failed, skipped: w.skipped, reverted: w.reverted })),
    ['wave', 'stations', 'pending', 'offered', 'soaking', 'confirmed', 'failed', 'skipped', 'reverted'],
  );
  const outside = r.outsideWindows;
  if (outside !== undefined && outside.count > 0) {
    out.line();
    out.line(`${outside.count} pending station(s) call only outside the windows (a healthy station calls about once a day, at about the same time); they are offered only if they call early:`);
    out.table(outside.members.map((m) => ({ station: m.eui, 'usual call': `${m.usualCallTime} ${m.zone}`, 'last call': m.lastCallAt, every: `${Math.round(m.intervalMs / 360_000) / 10} h` })), ['station', 'usual call', 'last call', 'every']);
    if (outside.count > outside.members.length) out.line(`… and ${outside.count - outside.members.length} more`);
  }
  const notable = (members ?? []).filter((m) => m.state === 'failed' || m.state === 'skipped'); // the caller reads only those
  if (notable.length > 0) {
    out.line();
    const reverted = notable.some((m) => m.revert !== null && m.revert !== undefined);
    out.table(
      notable.map((m) => ({ station: m.eui, wave: m.wave, state: m.state, reason: m.reason ?? '', revert: m.revert === null || m.revert === undefined ? '' : `${m.revert.state}: ${m.revert.reason}` })),
      reverted ? ['station', 'wave', 'state', 'reason', 'revert'] : ['station', 'wave', 'state', 'reason'],
    );
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
