import { beatOf, spoken } from './health-reason.js';
import type { RolloutChange, RolloutMember } from './rollout.js';
import type { StationObservation } from './rollout-gate.js';

/**
 * The health soak of a rollout member (PROTOCOL.md 8): a station whose LNS
 * connection works after the change does not call CUPS again until its regular
 * check (24 h by default); one whose new LNS refuses, resets or rejects it is
 * back within minutes (450 s, or 60 s). So after the exchange that delivered the
 * change, any call within the soak fails the member, and a soak that passes
 * quietly confirms it then, without waiting for the station to report the change
 * at its next regular check (a later report that contradicts it still fails it).
 * Firmware is the exception to "any call": an update restarts the station, which
 * calls at start reporting the new package; the soak runs from that call.
 * Pure: the member, what the registry says about its station, and the clock.
 */

/** What the soak decided for an offered member: a verdict, or the soak starting; null while it soaks (or waits for delivery). */
export interface SoakOutcome {
  /** The soak began at this exchange (written on the member). */
  readonly soakFrom?: Date;
  readonly verdict?: { readonly state: 'confirmed' | 'failed'; readonly reason: string; readonly reportDue?: boolean };
}

/**
 * Judges an offered member of a soaked rollout. `judge` is the rollout's report
 * judgment without its deadline (core/rollout-gate.ts judgeOffered): confirmed
 * when the station reports the change, failed when something contradicts it.
 */
export function judgeSoak(
  change: RolloutChange,
  m: RolloutMember,
  obs: StationObservation,
  soakMs: number,
  now: Date,
  judge: (m: RolloutMember) => { state: 'confirmed' | 'failed'; reason: string } | null,
): SoakOutcome | null {
  const reported = judge({ ...m, deadlineAt: null });
  if (reported?.state === 'failed') return { verdict: reported };
  const applied = reported?.state === 'confirmed';
  const seen = obs.lastSeenAt;
  let from = m.soakFrom ?? null;
  let started: Date | undefined;
  if (from === null) {
    const offered = m.offeredAt;
    if (change.kind === 'firmware') {
      // Not the delivery: the call that reports the new package (at start, after the update's restart).
      if (applied) from = obs.reportedAt ?? seen;
    } else if (seen !== null && offered !== null && seen.getTime() > offered.getTime()) {
      if (!applied) from = seen; // the station's latest call still reported the old value: its answer carried the change
      else {
        // Back already, reporting the change, before an evaluation saw the exchange that delivered it.
        // That exchange began the station's run of early calls (its health record) if the return was
        // early; else it came after the offer, so a first report within the soak of the offer was too.
        const h = obs.health;
        const first = obs.reportedAt ?? seen;
        if (h !== null && h !== undefined && h.earlyRun > 0 && h.runFrom !== null && h.runFrom.getTime() >= offered.getTime()) from = h.runFrom;
        else if (first.getTime() - offered.getTime() < soakMs) from = offered;
        else return { verdict: { state: 'confirmed', reason: `${reported.reason}; its first call after the change came after the soak` } };
      }
    }
    if (from === null) {
      // Not delivered (firmware: not reported) yet: the deadline applies as without a soak.
      const late = judge(m);
      return late === null ? null : { verdict: late };
    }
    started = from;
  }
  const start = started === undefined ? {} : { soakFrom: started };
  const after = change.kind === 'firmware' ? `after it reported package ${change.package}` : 'after the change';
  if (seen !== null && seen.getTime() > from.getTime()) {
    // The first call after the soak began: for a URI or credential, the one that first reported the change.
    const first = change.kind !== 'firmware' && obs.reportedAt !== null && obs.reportedAt !== undefined && obs.reportedAt.getTime() > from.getTime() ? obs.reportedAt : seen;
    const gap = first.getTime() - from.getTime();
    const h = obs.health;
    const earlyWithin = h !== null && h !== undefined && h.earlyRun > 0 && h.runFrom !== null && h.runFrom.getTime() >= from.getTime() && h.runFrom.getTime() < from.getTime() + soakMs;
    if (gap < soakMs || earlyWithin) {
      const beat = beatOf(gap);
      return { ...start, verdict: { state: 'failed', reason: `back at CUPS ${spoken(gap)} ${after}: its LNS connection is failing${beat === undefined ? '' : ` (${beat})`}` } };
    }
    // Its next call came after the soak: what it reports decides.
    if (applied) return { ...start, verdict: { state: 'confirmed', reason: `${reported.reason}; no call for ${spoken(soakMs)} ${after}` } };
    return { ...start, verdict: { state: 'failed', reason: `called CUPS ${spoken(gap)} ${after} without reporting it` } };
  }
  if (now.getTime() >= from.getTime() + soakMs) {
    return { ...start, verdict: { state: 'confirmed', reason: `no call to CUPS for ${spoken(soakMs)} ${after}: no sign of failure${applied ? '' : ' (the station reports the change at its next regular check)'}`, reportDue: !applied } };
  }
  return started === undefined ? null : start;
}

/**
 * A member confirmed by its soak before the station reported the change: once
 * the station has called again, its report either shows the change (confirmed,
 * the watch ends) or contradicts it (failed). Undefined while it has not called since.
 */
export function judgeReportDue(
  m: RolloutMember,
  obs: StationObservation | undefined,
  judge: (m: RolloutMember) => { state: 'confirmed' | 'failed'; reason: string } | null,
): { readonly state: 'confirmed' | 'failed'; readonly reason: string } | undefined {
  if (obs === undefined || !obs.exists) return undefined;
  const reported = judge({ ...m, deadlineAt: null });
  // Desired changed since (an operator, a revert): nothing the station reported contradicts the change; the watch ends.
  if (reported?.state === 'failed') return { state: 'confirmed', reason: `${m.reason ?? 'confirmed by its soak'}; since then ${reported.reason}` };
  if (reported?.state === 'confirmed') return { state: 'confirmed', reason: `${m.reason ?? 'confirmed by its soak'}; ${reported.reason}` };
  const seen = obs.lastSeenAt;
  if (seen === null || m.doneAt === null || seen.getTime() <= m.doneAt.getTime()) return undefined;
  // A TC rotation's report is written by the exchange, its completion just after in a transaction of its own
  // (http/authenticate.ts completeRotations): a station that reports the issued TC credential has reported the
  // change. (A CUPS rotation completes only on authenticating with it, and is never soaked.)
  const issued = Object.entries(m.previous?.rotatedTo ?? {});
  if (issued.length > 0 && issued.every(([category, crc]) => category === 'tc' && obs.credentials.reported.tc === crc)) return undefined;
  return { state: 'failed', reason: `after its soak the station called CUPS without reporting the change` };
}
