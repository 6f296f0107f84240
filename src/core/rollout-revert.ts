import type { StationObservation } from './rollout-gate.js';
import type { CredentialRef } from './model.js';
import { revertRefusal, type MemberRevert, type RolloutChange, type RolloutMember } from './rollout.js';

/**
 * Automatic revert, pure: a member that failed while its rollout reverts
 * (`--revert-unhealthy`) gets back what it had before the change was offered
 * (PreviousConfig, snapshotted with the offer). A station whose LNS link the
 * change broke still reaches CUPS, and calls it within minutes (PROTOCOL.md 8),
 * so the old value is delivered at its very next exchange. The engine writes the
 * decision in the step that fails the member; the revert is `reverted` once the
 * station reports the old value again.
 */

/** A library package as a firmware revert needs it: which keys signed it, which models it is for. */
export interface RevertPackage {
  readonly package: string;
  readonly keyCrcs: readonly number[];
  readonly models: readonly string[];
}

/** A TC certificate or token as a revert checks it: its blob's CRC, status, why retired, and (certificates) end of validity. */
export interface TcCredentialRow {
  readonly crc: number;
  readonly status: 'active' | 'retired';
  readonly retiredReason: string | null;
  readonly notAfter: Date | null;
}

/**
 * Why the TC credential with CRC `crc` cannot be given back, or null when it can:
 * what the server registered of it (a certificate or token) must be active, or
 * retired by the rotation that replaced it, and not expired. A credential with
 * nothing registered (a trust alone, or one set by hand) has nothing to check.
 */
export function tcCredentialUnusable(rows: readonly TcCredentialRow[], crc: number, now: Date): string | null {
  const own = rows.filter((r) => r.crc === crc);
  if (own.length === 0) return null;
  const live = own.filter((r) => r.notAfter === null || r.notAfter > now);
  if (live.some((r) => r.status === 'active' || r.retiredReason === 'rotated')) return null;
  if (live.length === 0) return `its previous TC credential (crc ${crc}) has expired`;
  return `its previous TC credential (crc ${crc}) was retired (${live.map((r) => r.retiredReason ?? 'retired').join(', ')}), not by the rotation`;
}

/**
 * What is set back on the station: its TC URI, its firmware target (the previous
 * package), or its TC credential (the one the rotation replaced, `from` the one it issued).
 */
export type RevertOffer = { readonly tcUri: string } | { readonly package: string } | { readonly tcCred: CredentialRef; readonly from: number };

/** A revert as the step writes it: the member's record and what to set back on the station. */
export interface RevertChange extends MemberRevert {
  readonly offer?: RevertOffer;
}

/**
 * What to do for member `m` that has just failed. Undefined when there is
 * nothing of the rollout's to revert (the station changed outside it, or is gone).
 */
export function planRevert(
  change: RolloutChange,
  m: RolloutMember,
  obs: StationObservation | undefined,
  packages: ReadonlyMap<string, RevertPackage | null>,
  now: Date,
  tcCredentials: ReadonlyMap<string, readonly TcCredentialRow[]> = new Map(),
): RevertChange | undefined {
  const refused = (reason: string): RevertChange => ({ state: 'refused', reason, at: now, doneAt: null });
  if (obs === undefined || !obs.exists) return undefined;
  const previous = m.previous;
  if (previous === null) return refused('nothing was recorded of what the station had before the change');
  switch (change.kind) {
    case 'tcUri': {
      if (obs.desired.tcUri !== change.uri) return undefined;
      const back = previous.tcUri ?? previous.reportedTcUri ?? null;
      if (back === null || back === change.uri) return refused('the station had no other TC URI before the change: there is nothing to give back');
      return { state: 'reverting', reason: `TC URI set back to ${back}, delivered at the station's next exchange`, at: now, doneAt: null, offer: { tcUri: back } };
    }
    case 'firmware': {
      if (obs.firmware !== null && obs.firmware.package !== change.package) return undefined;
      const back = previous.package;
      if (back === null) return refused(`its previous package is not known (it had not reported one), so package ${change.package} cannot be undone`);
      if (obs.reported?.package === back) return { state: 'reverted', reason: `still runs its previous package ${back}: nothing to give back`, at: now, doneAt: now };
      const pkg = packages.get(back);
      if (pkg === undefined || pkg === null) {
        return refused(`its previous package ${back} is not in the firmware library: upload it (bscups firmware upload --package ${back} …), then roll back`);
      }
      const model = obs.reported?.model;
      if (pkg.models.length > 0 && (model === undefined || !pkg.models.includes(model))) {
        return refused(`its previous package ${back} is built for ${pkg.models.join(', ')}, not for model "${model ?? 'unknown'}"`);
      }
      const keys = obs.keys ?? [];
      if (!pkg.keyCrcs.some((k) => keys.includes(k))) {
        return refused(`its previous package ${back} is signed for key CRC ${pkg.keyCrcs.join(', ') || 'none'}, and the station holds [${keys.join(', ')}]`);
      }
      return { state: 'reverting', reason: `previous package ${back} offered back at the station's next exchange`, at: now, doneAt: null, offer: { package: back } };
    }
    case 'credentials': {
      const why = revertRefusal(change);
      if (why !== null) return refused(`a CUPS credential rotation cannot be reverted automatically: ${why}`);
      const issued = previous.rotatedTo?.tc;
      if (issued === undefined || obs.credentials.desired.tc !== issued) return undefined;
      const back = previous.tcCred;
      if (back === undefined) return refused('what TC credential the station had before was not recorded with its offer');
      if (back === null) return refused('the station had no TC credential before the rotation: there is nothing to give back');
      const unusable = tcCredentialUnusable(tcCredentials.get(m.eui) ?? [], back.crc, now);
      if (unusable !== null) return refused(`${unusable}: giving it back would leave the station without a working one`);
      return { state: 'reverting', reason: `TC credential set back to crc ${back.crc}, delivered at the station's next exchange`, at: now, doneAt: null, offer: { tcCred: back, from: issued } };
    }
    case 'cupsUri':
      return refused('a CUPS URI rollout cannot be reverted automatically');
  }
}

/**
 * Whether a member being reverted now reports what it had before; the revert as
 * it stands then, or null while waiting. A station that does not report it within
 * `deadlineMs` (the rollout's per-station deadline, and at least the station's
 * regular interval plus grace: it reports only at its next regular call) is no longer
 * waited for: refused, saying what it still reports.
 */
export function judgeRevert(change: RolloutChange, m: RolloutMember, obs: StationObservation | undefined, now: Date, deadlineMs = Number.POSITIVE_INFINITY): RevertChange | null {
  const revert = m.revert;
  if (revert === null || revert === undefined || revert.state !== 'reverting' || m.previous === null) return null;
  if (obs === undefined || !obs.exists) return { ...revert, state: 'refused', reason: 'station removed before it got back what it had' };
  if (change.kind === 'tcUri') {
    const back = m.previous.tcUri ?? m.previous.reportedTcUri ?? null;
    if (back !== null && obs.reported?.tcUri === back) return { ...revert, state: 'reverted', reason: `reports TC URI ${back} again`, doneAt: now };
    if (obs.desired.tcUri !== back) return { ...revert, state: 'refused', reason: `desired TC URI changed while it was set back (now ${obs.desired.tcUri ?? 'none'}): left as it is` };
  }
  if (change.kind === 'credentials') {
    const back = m.previous.tcCred;
    if (back === undefined) return { ...revert, state: 'refused', reason: 'what TC credential the station had before was not recorded with its offer' };
    if (back === null) return { ...revert, state: 'refused', reason: 'the station had no TC credential before the rotation' };
    if (obs.credentials.reported.tc === back.crc) return { ...revert, state: 'reverted', reason: `reports TC credential crc ${back.crc} again`, doneAt: now };
    if (obs.credentials.desired.tc !== back.crc) return { ...revert, state: 'refused', reason: `desired TC credential changed while it was set back (now crc ${obs.credentials.desired.tc ?? 'none'}): left as it is` };
  }
  if (change.kind === 'firmware') {
    const back = m.previous.package;
    if (back !== null && obs.reported?.package === back) return { ...revert, state: 'reverted', reason: `reports package ${back} again`, doneAt: now };
    if (obs.firmware?.package === back && obs.firmware.state === 'failed') return { ...revert, state: 'refused', reason: `offering back package ${back} failed: ${obs.firmware.lastError ?? 'no report of it'}` };
  }
  if (now.getTime() >= revert.at.getTime() + deadlineMs) {
    const still = change.kind === 'firmware' ? `package ${obs.reported?.package ?? 'none'}`
      : change.kind === 'credentials' ? `TC credential crc ${obs.credentials.reported.tc ?? 'none'}`
      : `TC URI ${obs.reported?.tcUri ?? 'none'}`;
    return { ...revert, state: 'refused', reason: `not back on what it had within the deadline: still reports ${still}${obs.lastSeenAt === null || obs.lastSeenAt < revert.at ? ', not seen since' : ''}` };
  }
  return null;
}
