import { describeChange, type Rollout, type RolloutMember } from './rollout.js';
import type { MemberChange, RolloutEvent, StationObservation } from './rollout-gate.js';

/**
 * Offers a station has not fetched yet, taken back when a rollout stops (abort,
 * pause, halt): the desired change is withdrawn and what was desired before is
 * restored, so the station is not sent it at its next call. Aborted: the member
 * is `reverted` and never offered again (the rollout is no longer active).
 * Paused or halted: it goes back to `pending`, to be offered again on resume.
 *
 * Not fetched means: firmware whose target is still the rollout's package and
 * was never sent whole (0 offers); a URI still desired as the rollout set it,
 * with no call from the station since the offer (its answer would have carried
 * it). A credential rotation is not withdrawn: its credential is issued and
 * already accepted beside the old one, which stays valid until it is used.
 */
export function withdrawUnfetched(
  rollout: Pick<Rollout, 'change'>,
  members: readonly RolloutMember[],
  observations: ReadonlyMap<string, StationObservation>,
  outcome: 'pending' | 'reverted',
  why: string,
  /** What happens to a member sent back to pending, for its event; default: offered again on resume. */
  again = 'offered again on resume',
): { members: MemberChange[]; events: RolloutEvent[] } {
  const changes: MemberChange[] = [];
  const events: RolloutEvent[] = [];
  for (const m of members) {
    if (m.state !== 'offered' || m.previous === null || !unfetched(rollout.change, m, observations.get(m.eui))) continue;
    const reason = `offer withdrawn before the station fetched it: ${why}`;
    changes.push({ eui: m.eui, wave: m.wave, state: outcome, reason, withdraw: m.previous });
    events.push({ type: 'reverted', eui: m.eui, wave: m.wave, message: `${describeChange(rollout.change)}: ${reason}${outcome === 'pending' ? `; ${again}` : ''}` });
  }
  return { members: changes, events };
}

function unfetched(change: Rollout['change'], m: RolloutMember, o: StationObservation | undefined): boolean {
  if (o === undefined || !o.exists) return false;
  switch (change.kind) {
    case 'firmware':
      return o.firmware !== null && o.firmware.package === change.package && o.firmware.offers === 0 && (o.firmware.state === 'pending' || o.firmware.state === 'offered');
    case 'tcUri':
    case 'cupsUri':
      return o.desired[change.kind] === change.uri && (o.lastSeenAt === null || m.offeredAt === null || o.lastSeenAt.getTime() < m.offeredAt.getTime());
    case 'credentials':
      return false;
  }
}
