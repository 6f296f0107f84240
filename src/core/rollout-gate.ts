import type { CredentialRef } from './model.js';
import { isDowngrade } from './versions.js';
import { PACING_WINDOW_MS } from './pacing.js';
import { withdrawUnfetched } from './rollout-withdraw.js';
import { planWindows, windowsOpen } from './rollout-schedule.js';
import { judgeRevert, planRevert, type RevertChange, type RevertPackage, type TcCredentialRow } from './rollout-revert.js';
import { judgeReportDue, judgeSoak } from './rollout-soak.js';
import {
  describeChange,
  failuresAllowed,
  formatAmount,
  healthSoakOf,
  isActive,
  type MemberState,
  type PreviousConfig,
  type Rollout,
  type CredentialCategory,
  type RolloutChange,
  type RolloutMember,
  type RolloutState,
} from './rollout.js';

/**
 * The rollout's decisions, pure: given the rollout, its members and what the
 * registry says about their stations now, which members confirmed or failed,
 * whether the failure budget halts it, whether the current wave passed its gate,
 * which wave starts and which stations are offered the change. The engine
 * applies the returned step as one guarded write (operations/rollout-engine.ts).
 */

/** What the registry knows about a member's station, as the gate needs it. */
export interface StationObservation {
  readonly exists: boolean;
  readonly desired: { readonly tcUri: string | null; readonly cupsUri: string | null };
  readonly reported: { readonly model: string; readonly package: string | null; readonly tcUri: string | null; readonly cupsUri: string | null } | null;
  /** CRCs of the signing keys the station reported holding (a firmware revert needs a signature for one). */
  readonly keys?: readonly number[];
  readonly lastSeenAt: Date | null;
  /** When what the station reports last changed (the call that first reported it). */
  readonly reportedAt?: Date | null;
  /** The station's health record (core/health.ts): its current run of early calls. */
  readonly health?: { readonly earlyRun: number; readonly runFrom: Date | null } | null;
  readonly firmware: {
    readonly package: string;
    readonly state: 'pending' | 'offered' | 'upgraded' | 'failed';
    readonly offers: number;
    readonly lastOfferedAt: Date | null;
    readonly lastError: string | null;
  } | null;
  /** CRCs of the desired and reported credentials, and the new CRC of each pending rotation. */
  readonly credentials: {
    readonly desired: Readonly<Record<CredentialCategory, number | null>>;
    readonly reported: Readonly<Record<CredentialCategory, number | null>>;
    readonly rotations: Readonly<Partial<Record<CredentialCategory, number>>>;
    /** The desired TC credential itself (a TC credential rotation records it as what a revert gives back). */
    readonly tcCred?: CredentialRef | null;
  };
}

/**
 * A credential rotation made ready for a station before its offer is written:
 * the CRCs of the credentials issued, or why none can be (the station is then skipped).
 */
export type PreparedRotation = { readonly crcs: Readonly<Partial<Record<CredentialCategory, number>>> } | { readonly refused: string };

export interface GateInput {
  readonly rollout: Rollout;
  readonly members: readonly RolloutMember[];
  readonly observations: ReadonlyMap<string, StationObservation>;
  /** Station models a firmware package is built for; empty: any. */
  readonly models: readonly string[];
  /** Stations that newly match the selector and are in no active rollout (include-new only). */
  readonly joiners: readonly string[];
  /**
   * Credential rotations: what the engine issued for stations this evaluation may
   * offer. A station offered without an entry is one the engine must prepare
   * before it writes the step (it evaluates again with the entry).
   */
  readonly prepared?: ReadonlyMap<string, PreparedRotation>;
  /**
   * Firmware rollouts that revert: the library entries of the offered members'
   * previous packages (null: not in the library). A package missing from the map
   * counts as not in the library.
   */
  readonly revertPackages?: ReadonlyMap<string, RevertPackage | null>;
  /** TC credential rotations that revert: the TC certificates and tokens registered for the offered members (what a revert may give back). */
  readonly revertTcCredentials?: ReadonlyMap<string, readonly TcCredentialRow[]>;
  /** How long a revert is waited for at least: the station reports it only at its next regular call (interval + grace). */
  readonly revertWaitMs?: number;
  readonly now: Date;
}

export type RolloutEventType =
  | 'created' | 'started' | 'wave_started' | 'wave_passed' | 'halted' | 'paused' | 'resumed' | 'completed' | 'aborted' | 'rolled_back'
  | 'joined' | 'offered' | 'confirmed' | 'failed' | 'skipped' | 'reverted'
  /** A failed member's automatic revert: set back (reverting), or impossible (revert_refused). */
  | 'reverting' | 'revert_refused'
  | 'waiting_for_approval' | 'approved' | 'denied' | 'retried' | 'soaking';

export interface RolloutEvent {
  readonly type: RolloutEventType;
  readonly message: string;
  /** The station concerned; its station history gets the event too. */
  readonly eui?: string;
  readonly wave?: number;
}

export interface MemberChange {
  readonly eui: string;
  readonly wave: number;
  readonly state: MemberState;
  readonly reason: string | null;
  /** A station joining the rollout (insert rather than update). */
  readonly joined?: boolean;
  /** Set when the change is offered: apply the change to the station, remember this for rollback. */
  readonly offer?: { readonly previous: PreviousConfig; readonly deadlineAt: Date };
  /** Rollback: set the station's desired configuration back to the member's `previous`. */
  readonly restore?: PreviousConfig;
  /**
   * An offer the station has not fetched, taken back (core/rollout-withdraw.ts): the
   * firmware target is removed, a URI set back to this; the member's offer is cleared.
   */
  readonly withdraw?: PreviousConfig;
  /**
   * A failed member's automatic revert (core/rollout-revert.ts): recorded on the
   * member, and its `offer` set back on the station in the step's transaction.
   */
  readonly revert?: RevertChange;
  /** Only the member's revert record changes (its state, reason and times stay). */
  readonly revertOnly?: boolean;
  /**
   * `rollout retry`: a failed member made pending again (its offer cleared, its
   * previous configuration kept for rollback); `reclaim` when the rollout had
   * released its stations (completed) and must hold this one again.
   */
  readonly retry?: { readonly reclaim: boolean };
  /** Health soak: it began at this exchange (core/rollout-soak.ts). */
  readonly soakFrom?: Date;
  /** Set with a state: whether a confirmed member still waits for the station's report (true) or no longer (false). */
  readonly reportDue?: boolean;
}

export interface RolloutChangeSet {
  readonly state?: RolloutState;
  readonly wave?: number;
  readonly waveStartedAt?: Date | null;
  readonly wavePassedAt?: Date | null;
  readonly haltReason?: string | null;
  /** An approval decided (approve or deny); written with the state change it makes. */
  readonly approval?: { readonly decision: 'approved' | 'denied'; readonly by: string; readonly at: Date };
}

export interface RolloutStep {
  readonly members: MemberChange[];
  readonly rollout: RolloutChangeSet;
  readonly events: RolloutEvent[];
}

export function isEmptyStep(step: RolloutStep): boolean {
  return step.members.length === 0 && Object.keys(step.rollout).length === 0 && step.events.length === 0;
}

/** One evaluation of a rollout. Returns an empty step when nothing is due. */
export function evaluateRollout(input: GateInput): RolloutStep {
  const { rollout, now } = input;
  const step: RolloutStep = { members: [], rollout: {}, events: [] };
  // Reverts under way: done once the station reports what it had before. Followed
  // after the rollout ended too (it may complete before a failed station calls back).
  for (const m of input.members) {
    if (m.state !== 'failed' || m.revert?.state !== 'reverting') continue;
    const revert = judgeRevert(rollout.change, m, input.observations.get(m.eui), now, Math.max(rollout.plan.deadlineMs, input.revertWaitMs ?? 0));
    if (revert === null) continue;
    step.members.push({ eui: m.eui, wave: m.wave, state: m.state, reason: m.reason, revert, revertOnly: true });
    step.events.push({ type: revert.state === 'reverted' ? 'reverted' : 'revert_refused', eui: m.eui, wave: m.wave, message: `${describeChange(rollout.change)}: ${revert.state === 'reverted' ? 'reverted' : 'revert failed'} (${revert.reason})` });
  }
  // A completed rollout only still watches the reports its soaks left due.
  if (!isActive(rollout.state) && rollout.state !== 'completed') return step;
  if (rollout.state === 'scheduled') {
    if (rollout.plan.startAt !== undefined && now.getTime() < Date.parse(rollout.plan.startAt)) return step;
    Object.assign(step.rollout, { state: 'running' });
    step.events.push({ type: 'started', message: `started as scheduled for ${rollout.plan.startAt ?? 'now'}` });
  }
  const members = new Map(input.members.map((m) => [m.eui, { ...m }]));
  const set = (m: RolloutMember, state: MemberState, reason: string | null, extra: Partial<MemberChange> = {}) => {
    const offered = extra.offer === undefined ? {} : { offeredAt: now, deadlineAt: extra.offer.deadlineAt };
    members.set(m.eui, { ...m, state, reason, ...offered });
    step.members.push({ eui: m.eui, wave: m.wave, state, reason, ...extra });
    step.events.push({ type: eventOf(state), eui: m.eui, wave: m.wave, message: `${describeChange(rollout.change)}: ${state}${reason === null ? '' : ` (${reason})`}` });
  };

  const soakMs = healthSoakOf(rollout.plan);
  for (const m of input.members) {
    const obs = input.observations.get(m.eui);
    const judge = (x: RolloutMember) => judgeOffered(rollout.change, x, obs, now);
    if (m.state === 'confirmed' && m.reportDue === true) {
      const due = judgeReportDue(m, obs, judge);
      if (due?.state === 'failed') set(m, 'failed', due.reason, { reportDue: false });
      else if (due !== undefined) {
        // The station reported the change its soak confirmed: the watch ends, without a second confirmation event.
        members.set(m.eui, { ...m, reason: due.reason, reportDue: false });
        step.members.push({ eui: m.eui, wave: m.wave, state: 'confirmed', reason: due.reason, reportDue: false });
      }
      continue;
    }
    if (m.state !== 'offered' || rollout.state === 'completed') continue;
    if (soakMs > 0 && obs !== undefined && obs.exists) {
      const soak = judgeSoak(rollout.change, m, obs, soakMs, now, judge);
      if (soak === null) continue;
      const from = soak.soakFrom === undefined ? {} : { soakFrom: soak.soakFrom };
      if (soak.verdict !== undefined) set(m, soak.verdict.state, soak.verdict.reason, { ...from, ...(soak.verdict.reportDue === true ? { reportDue: true } : {}) });
      else if (soak.soakFrom !== undefined) {
        members.set(m.eui, { ...m, soakFrom: soak.soakFrom });
        step.members.push({ eui: m.eui, wave: m.wave, state: 'offered', reason: m.reason, soakFrom: soak.soakFrom });
        step.events.push({ type: 'soaking', eui: m.eui, wave: m.wave, message: `${describeChange(rollout.change)}: soaking ${Math.round(soakMs / 1000)} s from ${soak.soakFrom.toISOString()}: a call to CUPS before then fails the station` });
      }
      continue;
    }
    const verdict = judge(m);
    if (verdict !== null) set(m, verdict.state, verdict.reason);
  }
  // Every member failed in this step, whatever failed it, is reverted when the rollout says so.
  const refusals = rollout.plan.revertUnhealthy === true ? revertFailed(input, step, members) : [];

  if (rollout.state === 'completed') return step;
  let state: RolloutState = step.rollout.state ?? rollout.state;
  const haltNow = (reason: string) => {
    halt(step, reason);
    // Halted offers nothing more: an offer its station has not fetched yet is taken back.
    const withdrawn = withdrawUnfetched(rollout, [...members.values()], input.observations, 'pending', `the rollout halted (${reason})`);
    step.members.push(...withdrawn.members);
    step.events.push(...withdrawn.events);
    state = 'halted';
  };
  const counted = [...members.values()].filter((m) => m.state !== 'skipped');
  const failed = counted.filter((m) => m.state === 'failed').length;
  const allowed = failuresAllowed(rollout.plan.failureBudget, counted.length);
  if (state !== 'halted' && refusals.length > 0) {
    const first = refusals[0] as { eui: string; reason: string };
    haltNow(`station ${first.eui} failed and cannot be reverted: ${first.reason}${refusals.length > 1 ? ` (and ${refusals.length - 1} more)` : ''}`);
  } else if (state !== 'halted' && failed > allowed) {
    haltNow(`failure budget exceeded: ${failed} failed, ${allowed} allowed (${formatAmount(rollout.plan.failureBudget)} of ${counted.length})`);
  }
  if (state !== 'running') return step;

  let wave = Math.max(rollout.wave, 1);
  for (const eui of input.joiners) {
    if (members.has(eui)) continue;
    const m: RolloutMember = { eui, wave, state: 'pending', reason: null, previous: null, offeredAt: null, deadlineAt: null, doneAt: null };
    members.set(eui, m);
    step.members.push({ eui, wave, state: 'pending', reason: 'joined: matches the selector (include-new)', joined: true });
    step.events.push({ type: 'joined', eui, wave, message: `joined wave ${wave} (include-new)` });
  }
  let passedAt = rollout.wavePassedAt;
  if (rollout.wave === 0) startWave(step, 1, rollout.waveSizes.length, now);
  // --max-offers-per-minute: offers of the last minute (every replica's, they are member rows) use up the budget.
  const pace = rollout.plan.maxOffersPerMinute ?? null;
  let paceLeft = pace === null ? Infinity : pace - [...members.values()].filter((m) => m.offeredAt !== null && m.offeredAt.getTime() > now.getTime() - PACING_WINDOW_MS).length;

  // Time windows: offers are made only while one is open. An offer its station has
  // not fetched when the window closes is taken back, so that the station gets the
  // change only at a call inside a window; the member is offered again at the next.
  const open = windowsOpen(planWindows(rollout.plan), now);
  if (!open) {
    const withdrawn = withdrawUnfetched(rollout, [...members.values()], input.observations, 'pending', WINDOW_CLOSED, 'offered again when a window opens');
    for (const c of withdrawn.members) {
      const m = members.get(c.eui);
      if (m !== undefined) members.set(c.eui, { ...m, state: 'pending', reason: c.reason, offeredAt: null, deadlineAt: null });
    }
    step.members.push(...withdrawn.members);
    step.events.push(...withdrawn.events);
  }

  // Waves count offers (see waveSlots): a member skipped or already done fills no
  // slot, and the wave takes the next pending member of a later wave in its place.
  for (;;) {
    const slots = waveSlots(rollout.waveSizes, wave);
    while (open) {
      for (const m of [...members.values()]) {
        if (m.wave !== wave || m.state !== 'pending') continue;
        const e = eligibility(rollout.change, input.observations.get(m.eui), input.models, input.prepared?.get(m.eui));
        if (e.kind === 'offer') {
          // Paced: the member stays pending until a later evaluation has budget.
          if (paceLeft <= 0) continue;
          paceLeft -= 1;
          set(m, 'offered', null, { offer: { previous: offerPrevious(m.previous, e.previous), deadlineAt: new Date(now.getTime() + rollout.plan.deadlineMs) } });
        } else set(m, e.kind, e.reason);
      }
      const offers = [...members.values()].filter((m) => m.wave === wave && m.offeredAt !== null).length;
      const next = offers < slots && paceLeft > 0 ? nextPending(members.values(), wave) : undefined;
      if (next === undefined) break;
      members.set(next.eui, { ...next, wave });
    }
    const inWave = [...members.values()].filter((m) => m.wave === wave);
    if (inWave.some((m) => m.state === 'pending' || m.state === 'offered')) return step;
    // Only offers count at the gate: a station found already done confirms nothing about the change.
    const offered = inWave.filter((m) => m.offeredAt !== null);
    const confirmed = offered.filter((m) => m.state === 'confirmed').length;
    const decided = confirmed + offered.filter((m) => m.state === 'failed').length;
    const left = nextPending(members.values(), wave) !== undefined;
    if (decided === 0 && !left) {
      // Nothing was offered in this wave because nothing offerable is left (the wave
      // would have taken it): the rollout is done, with no gate to judge.
      complete(step, members.values(), failed, `wave ${wave} had no station left to offer`);
      return step;
    }
    const ratio = decided === 0 ? 0 : confirmed / decided;
    // A wave that passed (or that an operator let pass by resuming) is not judged again.
    if (passedAt === null) {
      if (ratio + 1e-9 < rollout.plan.successThreshold || decided === 0) {
        halt(step, `wave ${wave}: ${confirmed} of ${decided} confirmed (${pct(ratio)}), below the success threshold of ${pct(rollout.plan.successThreshold)}`);
        return step;
      }
      passedAt = now;
      Object.assign(step.rollout, { wavePassedAt: now });
      step.events.push({ type: 'wave_passed', wave, message: `wave ${wave} passed its gate: ${confirmed} of ${decided} confirmed${rollout.plan.soakMs > 0 ? `; soaking ${Math.round(rollout.plan.soakMs / 1000)} s` : ''}` });
      // --pause-after-wave: an operator looks before the next wave; resuming goes on from here (the gate is not judged again).
      if (rollout.plan.pauseAfterWave === true && wave < rollout.waveSizes.length && left) {
        Object.assign(step.rollout, { state: 'paused' });
        step.events.push({ type: 'paused', wave, message: `paused after wave ${wave} passed its gate (--pause-after-wave); resume to start wave ${wave + 1}` });
        return step;
      }
    }
    if (now.getTime() < passedAt.getTime() + rollout.plan.soakMs) return step;
    if (wave >= rollout.waveSizes.length || !left) {
      complete(step, members.values(), failed, null);
      return step;
    }
    wave += 1;
    passedAt = null;
    startWave(step, wave, rollout.waveSizes.length, now);
  }
}

/** Why an offer was taken back at a window's end. */
export const WINDOW_CLOSED = 'its time window closed before the station called';

/**
 * Attaches a revert to every member this step failed after an offer (the
 * deadline, a failed update, or any other reason a member fails), so one that
 * fails gets back what it had before at its next exchange. Returns the members
 * whose revert is impossible: the rollout halts on them.
 */
function revertFailed(input: GateInput, step: RolloutStep, members: Map<string, RolloutMember>): { eui: string; reason: string }[] {
  const refused: { eui: string; reason: string }[] = [];
  const before = new Map(input.members.map((m) => [m.eui, m]));
  step.members.forEach((change, i) => {
    const was = before.get(change.eui);
    // Any member this step fails that had been offered the change (its snapshot says what it had before).
    if (change.state !== 'failed' || change.revert !== undefined || was === undefined || was.state === 'failed' || was.previous === null) return;
    const revert = planRevert(input.rollout.change, was, input.observations.get(change.eui), input.revertPackages ?? new Map(), input.now, input.revertTcCredentials);
    if (revert === undefined) return;
    step.members[i] = { ...change, revert };
    const m = members.get(change.eui);
    if (m !== undefined) members.set(change.eui, { ...m, revert });
    const what = describeChange(input.rollout.change);
    if (revert.state === 'refused') {
      refused.push({ eui: change.eui, reason: revert.reason });
      step.events.push({ type: 'revert_refused', eui: change.eui, wave: change.wave, message: `${what}: cannot be reverted (${revert.reason})` });
    } else step.events.push({ type: revert.state, eui: change.eui, wave: change.wave, message: `${what}: ${revert.state} (${revert.reason})` });
  });
  return refused;
}

/**
 * How many offers wave `wave` (1-based) makes: its share of the cumulative plan
 * (`1,10%,…` of 50: 1, then 4 more, …). The rule: a wave is filled with stations
 * actually offered the change. A member found ineligible (skipped) or already
 * done (confirmed without an offer) fills no slot; the wave takes the next
 * pending member of a later wave instead, so the canary is one real offer.
 * Members joining by include-new are offered in the current wave on top of its
 * slots. A wave passes its gate only on confirmations of its offers; a wave that
 * could offer nothing, since nothing offerable was left, completes the rollout.
 */
export function waveSlots(sizes: readonly number[], wave: number): number {
  return (sizes[wave - 1] ?? 0) - (sizes[wave - 2] ?? 0);
}

/**
 * What an offer records as the station's previous configuration: a member offered
 * before (and retried) keeps what it had before the rollout's first offer, which
 * is what a rollback restores; a rotation records the credential issued now.
 */
function offerPrevious(before: PreviousConfig | null, now: PreviousConfig): PreviousConfig {
  if (before === null) return now;
  const { rotatedTo, tcCred, ...kept } = before;
  void rotatedTo;
  // A rotation offered again replaces what the station holds now: that is what a revert of this offer gives back.
  const held = now.tcCred !== undefined ? { tcCred: now.tcCred } : tcCred !== undefined ? { tcCred } : {};
  return now.rotatedTo === undefined ? { ...kept, ...held } : { ...kept, ...held, rotatedTo: now.rotatedTo };
}

/** The first pending member of a wave after `wave`, in the rollout's order (wave, then EUI). */
function nextPending(members: Iterable<RolloutMember>, wave: number): RolloutMember | undefined {
  let best: RolloutMember | undefined;
  for (const m of members) {
    if (m.state !== 'pending' || m.wave <= wave) continue;
    if (best === undefined || m.wave < best.wave || (m.wave === best.wave && m.eui < best.eui)) best = m;
  }
  return best;
}

function complete(step: RolloutStep, members: Iterable<RolloutMember>, failed: number, why: string | null): void {
  const confirmed = [...members].filter((m) => m.state === 'confirmed').length;
  Object.assign(step.rollout, { state: 'completed' });
  step.events.push({ type: 'completed', message: `completed${why === null ? '' : ` (${why})`}: ${confirmed} confirmed, ${failed} failed` });
}

function startWave(step: RolloutStep, wave: number, of: number, now: Date): void {
  Object.assign(step.rollout, { wave, waveStartedAt: now, wavePassedAt: null });
  step.events.push({ type: 'wave_started', wave, message: `wave ${wave} of ${of} started` });
}

function halt(step: RolloutStep, reason: string): void {
  Object.assign(step.rollout, { state: 'halted', haltReason: reason });
  step.events.push({ type: 'halted', message: `halted: ${reason}` });
}

function eventOf(state: MemberState): RolloutEventType {
  return state === 'pending' ? 'joined' : state;
}

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

type Eligibility = { kind: 'offer'; previous: PreviousConfig } | { kind: 'skipped' | 'confirmed'; reason: string };

/** Whether a pending member may be offered the change now, and what it had before. */
export function eligibility(change: RolloutChange, obs: StationObservation | undefined, models: readonly string[], prepared?: PreparedRotation): Eligibility {
  if (obs === undefined || !obs.exists) return { kind: 'skipped', reason: 'station no longer registered' };
  // A station that never contacted the server could not confirm anything: offered, it would
  // only fail as lost at its deadline and spend the failure budget. Skipped (terminally, as a
  // model not reported yet), it neither fails nor confirms, and its wave offers the next station.
  if (obs.lastSeenAt === null) return { kind: 'skipped', reason: 'never seen: the station has not contacted the server since it was registered' };
  const reported = obs.reported;
  if (change.kind === 'credentials' && prepared !== undefined && 'refused' in prepared) return { kind: 'skipped', reason: prepared.refused };
  if (change.kind === 'firmware') {
    if (models.length > 0) {
      if (reported === null) return { kind: 'skipped', reason: `has not reported its model yet; package ${change.package} is built for ${models.join(', ')}` };
      if (!models.includes(reported.model)) return { kind: 'skipped', reason: `model "${reported.model}" is not one package ${change.package} is built for (${models.join(', ')})` };
    }
    if (reported?.package === change.package) return { kind: 'confirmed', reason: `already reports package ${change.package}` };
    if (!change.allowDowngrade && isDowngrade(reported?.package ?? null, change.package)) {
      return { kind: 'skipped', reason: `package ${change.package} would downgrade from ${reported?.package}; create the rollout with --allow-downgrade to include it` };
    }
  }
  const rotatedTo = prepared !== undefined && 'crcs' in prepared ? { rotatedTo: prepared.crcs } : {};
  const reportedTc = change.kind === 'tcUri' ? { reportedTcUri: reported?.tcUri ?? null } : {};
  const tcCred = change.kind === 'credentials' && change.categories.includes('tc') ? { tcCred: obs.credentials.tcCred ?? null } : {};
  return { kind: 'offer', previous: { tcUri: obs.desired.tcUri, cupsUri: obs.desired.cupsUri, package: reported?.package ?? null, ...rotatedTo, ...reportedTc, ...tcCred } };
}

/** Whether an offered member has confirmed or failed by now; null while it may still confirm. */
export function judgeOffered(change: RolloutChange, m: RolloutMember, obs: StationObservation | undefined, now: Date): { state: 'confirmed' | 'failed'; reason: string } | null {
  if (obs === undefined || !obs.exists) return { state: 'failed', reason: 'station removed' };
  const r = obs.reported;
  switch (change.kind) {
    case 'firmware': {
      if (r?.package === change.package) return { state: 'confirmed', reason: `reports package ${change.package}` };
      const fw = obs.firmware;
      if (fw === null || fw.package !== change.package) return { state: 'failed', reason: 'firmware target changed outside the rollout' };
      if (fw.state === 'failed') return { state: 'failed', reason: `update failed: ${fw.lastError ?? `no new package after ${fw.offers} offer(s)`}` };
      break;
    }
    case 'tcUri':
    case 'cupsUri': {
      const key = change.kind;
      if (r?.[key] === change.uri) return { state: 'confirmed', reason: `reports ${key} ${change.uri}` };
      if (obs.desired[key] !== change.uri) return { state: 'failed', reason: `desired ${key} changed outside the rollout` };
      break;
    }
    case 'credentials': {
      const verdict = judgeRotation(change.categories, m, obs);
      if (verdict !== null) return verdict;
      break;
    }
  }
  if (m.deadlineAt === null || now < m.deadlineAt) return null;
  const lastOffer = Math.max(m.offeredAt?.getTime() ?? 0, obs.firmware?.lastOfferedAt?.getTime() ?? 0);
  if (obs.lastSeenAt === null || obs.lastSeenAt.getTime() <= lastOffer) {
    return { state: 'failed', reason: `lost after offer: not seen since ${obs.lastSeenAt?.toISOString() ?? 'ever'}` };
  }
  const what =
    change.kind === 'firmware' ? `package ${r?.package ?? 'none'}`
    : change.kind === 'credentials' ? change.categories.map((c) => `${c} credential crc ${obs.credentials.reported[c] ?? 'none'}`).join(', ')
    : `${change.kind} ${r?.[change.kind] ?? 'none'}`;
  return { state: 'failed', reason: `not confirmed within the deadline: still reports ${what}` };
}

/**
 * A rotation is confirmed per category when the station reports the new
 * credential's CRC and its rotation is no longer pending: for CUPS the server
 * completes it only once the station authenticated with the new credential
 * (core/authenticate.ts rotationCompletions), so both signals are required.
 */
function judgeRotation(categories: readonly CredentialCategory[], m: RolloutMember, obs: StationObservation): { state: 'confirmed' | 'failed'; reason: string } | null {
  const c = obs.credentials;
  const done: string[] = [];
  for (const category of categories) {
    const crc = m.previous?.rotatedTo?.[category];
    if (crc === undefined) return { state: 'failed', reason: `no ${category} credential was recorded as issued for this station` };
    if (c.reported[category] === crc && c.rotations[category] !== crc) done.push(`${category} crc ${crc}`);
    else if (c.desired[category] !== crc) return { state: 'failed', reason: `desired ${category} credential changed outside the rollout` };
  }
  return done.length === categories.length ? { state: 'confirmed', reason: `uses the new credential (${done.join(', ')})` } : null;
}
