import { invalid } from './errors.js';
import type { CredentialRef } from './model.js';

/**
 * The rollout model: one change applied to a selected set of stations in waves,
 * with gates between waves. Pure data and parsing; the decisions are in
 * rollout-gate.ts, the counts and ETA in rollout-progress.ts.
 */

/** What a rollout changes on every station it enrolls. */
export type RolloutChange =
  | { readonly kind: 'firmware'; readonly package: string; readonly allowDowngrade: boolean; readonly maxOffers: number }
  | { readonly kind: 'tcUri'; readonly uri: string }
  | { readonly kind: 'cupsUri'; readonly uri: string }
  /** A new certificate or token (the kind each station uses now) for each category, issued under the station CA. */
  | { readonly kind: 'credentials'; readonly categories: readonly CredentialCategory[] };

/** Which credential set of a station: the one for CUPS or the one for the LNS (TC). */
export type CredentialCategory = 'cups' | 'tc';

/** `k=v`, `k!=v` (also stations without k), `k` exists, `!k` absent; the same shape listings use. */
export interface RolloutLabelSelector {
  readonly key: string;
  readonly op: 'eq' | 'ne' | 'exists' | 'absent';
  readonly value?: string;
}

/** Which stations the rollout is for; every given part must hold. */
export interface RolloutSelector {
  readonly labels: readonly RolloutLabelSelector[];
  readonly model?: string;
  /** Reported package (version.txt) now. */
  readonly package?: string;
  /** Prefix of the reported station version. */
  readonly stationVersion?: string;
  /** Explicit EUIs; when given, only these (still filtered by the rest). */
  readonly euis?: readonly string[];
}

/** A number of stations, or a percentage of the rollout's stations. */
export type Amount = { readonly count: number } | { readonly percent: number };

export interface RolloutPlan {
  /** Cumulative sizes: `1,5%,25%,100%` means 1 station, then up to 5 % of all, and so on. */
  readonly waves: readonly Amount[];
  /** Share (0..1) of a wave's offered stations that must confirm before the next wave starts. */
  readonly successThreshold: number;
  /** The rollout halts by itself when more stations than this have failed. */
  readonly failureBudget: Amount;
  /** A station offered the change that has not confirmed after this long has failed. */
  readonly deadlineMs: number;
  /** Wait this long after a wave passed its gate before starting the next. */
  readonly soakMs: number;
  /** Stations matching the selector that register or first report later join the current wave. */
  readonly includeNew: boolean;
  /** ISO 8601: the rollout stays `scheduled` until then, and the engine starts it at its first evaluation after. */
  readonly startAt?: string;
  /** Time windows (core/rollout-schedule.ts, in their normal spelling): offers are made only while one is open. */
  readonly windows?: readonly string[];
  /**
   * A member that fails gets back what it had before at its next exchange
   * (core/rollout-revert.ts). Absent in rollouts created before it existed: off.
   */
  readonly revertUnhealthy?: boolean;
  /** At most this many offers in any minute (core/pacing.ts); absent or null: unpaced. */
  readonly maxOffersPerMinute?: number | null;
  /** Pause (state paused) each time a wave passes its gate, until an operator resumes. */
  readonly pauseAfterWave?: boolean;
  /** Created waiting for approval (asked for, or the server's policy). */
  readonly requireApproval?: boolean;
  /**
   * The health soak (core/rollout-soak.ts): after the exchange that delivered a
   * member's change, a call from the station within this long fails the member;
   * a quiet soak confirms it. 0 or absent (rollouts made before it existed): off.
   */
  readonly healthSoakMs?: number;
}

export const ROLLOUT_STATES = ['scheduled', 'running', 'paused', 'halted', 'completed', 'aborted', 'rolled_back', 'waiting_for_approval'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
/**
 * States in which a rollout holds its stations (no other rollout may enroll them).
 * A scheduled rollout holds them already, so that it can start as planned; one
 * waiting for approval too: what it was approved for is what it runs.
 */
export const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = ['scheduled', 'running', 'paused', 'halted', 'waiting_for_approval'];

export const MEMBER_STATES = ['pending', 'offered', 'confirmed', 'failed', 'skipped', 'reverted'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** What a station was configured for before the rollout changed it: what rollback restores. */
export interface PreviousConfig {
  readonly tcUri: string | null;
  readonly cupsUri: string | null;
  /** Reported package when offered. */
  readonly package: string | null;
  /**
   * Credential rotation: the CRC of the credential the rollout issued per category,
   * which the station must report. Not restorable: see rollbackRollout.
   */
  readonly rotatedTo?: { readonly cups?: number; readonly tc?: number };
  /** The TC URI the station reported when offered (what a revert gives back when none was desired). */
  readonly reportedTcUri?: string | null;
  /**
   * TC credential rotation: the station's desired TC credential when offered, what a
   * revert gives back. A rollout that reverts keeps its blob (not deleted when the new
   * one replaces it; `blobs gc` leaves it while a revert may still need it).
   */
  readonly tcCred?: CredentialRef | null;
}

/**
 * What became of a failed member's automatic revert (core/rollout-revert.ts):
 * `reverting` once what it had before is set back (the station gets it at its
 * next exchange), `reverted` once the station reports it again, `refused` when
 * it could not be given back (the rollout halts).
 */
export const REVERT_STATES = ['reverting', 'reverted', 'refused'] as const;
export type RevertState = (typeof REVERT_STATES)[number];

export interface MemberRevert {
  readonly state: RevertState;
  /** In words: what is given back, or why it cannot be. */
  readonly reason: string;
  /** When the revert was decided. */
  readonly at: Date;
  /** When the station reported what it had before (state reverted). */
  readonly doneAt: Date | null;
}

/** How a rollout that needed approval was decided; the audit log has the same, written with the decision. */
export interface RolloutApproval {
  readonly decision: 'approved' | 'denied';
  /** The deciding identity's name (API key name, or local:<user>). */
  readonly by: string;
  readonly at: Date;
}

export interface Rollout {
  readonly id: string;
  readonly name: string | null;
  readonly change: RolloutChange;
  readonly selector: RolloutSelector;
  readonly plan: RolloutPlan;
  /** Cumulative station counts per wave, resolved at creation (empty waves dropped). */
  readonly waveSizes: readonly number[];
  readonly state: RolloutState;
  /** 1-based wave in progress; 0 before the first starts. */
  readonly wave: number;
  readonly waveStartedAt: Date | null;
  /** When the current wave passed its gate (its soak runs from here); null until then. */
  readonly wavePassedAt: Date | null;
  readonly haltReason: string | null;
  /** The rollout this one rolls back, if any. */
  readonly rollbackOf: string | null;
  readonly createdBy: string;
  /**
   * Who created it, as approvals compare identities (approverIdentity): the API key id,
   * or for the local CLI and the server the actor name. Null for rollouts created before approvals existed.
   */
  readonly createdByIdentity: string | null;
  /** Set once a rollout that waited for approval was approved or denied. */
  readonly approval: RolloutApproval | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Bumped by every change; a change applies only to the version it was decided on. */
  readonly version: number;
}

export interface RolloutMember {
  readonly eui: string;
  readonly wave: number;
  readonly state: MemberState;
  /** Why it was skipped or failed, or how it confirmed. */
  readonly reason: string | null;
  readonly previous: PreviousConfig | null;
  readonly offeredAt: Date | null;
  readonly deadlineAt: Date | null;
  readonly doneAt: Date | null;
  /** A failed member's automatic revert; null or absent when none was made. */
  readonly revert?: MemberRevert | null;
  /** Health soak: when it began (the exchange that delivered the change, or for firmware the call reporting the new package); null before. */
  readonly soakFrom?: Date | null;
  /** Confirmed by a quiet soak before the station reported the change: a later report that contradicts it still fails the member. */
  readonly reportDue?: boolean;
}

/** Parses `1,5%,25%,100%`; the last wave must cover every station. */
export function parseWaves(text: string): Amount[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw invalid('invalid_waves', `--waves must be counts or percentages separated by commas, e.g. 1,5%,25%,100%; got "${text}"`);
  const waves = parts.map((p) => parseAmount(p, '--waves'));
  const last = waves[waves.length - 1] as Amount;
  if (!('percent' in last) || last.percent !== 100) throw invalid('invalid_waves', `the last of --waves must be 100% so that every selected station is included; got "${text}"`);
  return waves;
}

/** Parses `3` (a count) or `2%` / `2.5%` (a percentage, 0..100). */
export function parseAmount(text: string, field: string): Amount {
  const pct = /^(\d{1,3}(?:\.\d+)?)%$/.exec(text.trim());
  if (pct !== null) {
    const percent = Number(pct[1]);
    if (percent > 100) throw invalid('invalid_amount', `${field}: ${text} is more than 100%`);
    return { percent };
  }
  if (!/^\d{1,9}$/.test(text.trim())) throw invalid('invalid_amount', `${field} must be a whole number or a percentage like 5%, got "${text}"`);
  return { count: Number(text) };
}

/** Parses a success threshold: `95%` or `0.95`. */
export function parseThreshold(text: string): number {
  const t = text.trim();
  const value = t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
  if (t === '' || !Number.isFinite(value) || value < 0 || value > 1) throw invalid('invalid_threshold', `--success-threshold must be a percentage (95%) or a share from 0 to 1, got "${text}"`);
  return value;
}

/** An amount as a number of stations out of `total` (percentages rounded up, so 1% of 50 is 1). */
export function resolveAmount(amount: Amount, total: number): number {
  if ('count' in amount) return Math.min(amount.count, total);
  return Math.min(total, Math.ceil((amount.percent * total) / 100 - 1e-9));
}

/** Cumulative wave sizes for `total` stations; waves that would add nobody are dropped. */
export function waveSizes(waves: readonly Amount[], total: number): number[] {
  const sizes: number[] = [];
  for (const w of waves) {
    const size = Math.max(resolveAmount(w, total), sizes[sizes.length - 1] ?? 0);
    if (size > (sizes[sizes.length - 1] ?? 0)) sizes.push(size);
  }
  return sizes;
}

/** The wave (1-based) of the station at `index` in the rollout's order. */
export function waveOf(index: number, sizes: readonly number[]): number {
  const i = sizes.findIndex((s) => index < s);
  return i === -1 ? sizes.length : i + 1;
}

/** Failures allowed before the rollout halts, out of `total` stations. */
export function failuresAllowed(budget: Amount, total: number): number {
  return 'count' in budget ? budget.count : Math.floor((budget.percent * total) / 100 + 1e-9);
}

/** How an amount reads in messages. */
export function formatAmount(a: Amount): string {
  return 'count' in a ? String(a.count) : `${a.percent}%`;
}

/** The change in words, for events and tables. */
export function describeChange(change: RolloutChange): string {
  switch (change.kind) {
    case 'firmware':
      return `firmware ${change.package}`;
    case 'tcUri':
      return `TC URI ${change.uri}`;
    case 'cupsUri':
      return `CUPS URI ${change.uri}`;
    case 'credentials':
      return `${change.categories.join(' and ')} credential rotation`;
  }
}

/**
 * Whether a rollout of this change reverts failed members unless told otherwise:
 * a TC URI change or a TC credential rotation (the station can still reach CUPS
 * to get its old URI or credential back).
 */
export function revertsByDefault(change: RolloutChange): boolean {
  return change.kind === 'tcUri' || (change.kind === 'credentials' && revertRefusal(change) === null);
}

/**
 * Why `--revert-unhealthy` cannot undo a rollout of this change, or null when it can:
 * a station given a CUPS URI or CUPS credential it cannot use never calls this server
 * again to get the old one back.
 */
export function revertRefusal(change: RolloutChange): string | null {
  if (change.kind === 'cupsUri') return 'a station given a CUPS URI it cannot reach never calls this server again';
  if (change.kind === 'credentials' && change.categories.includes('cups')) {
    return 'a station given a CUPS credential it cannot use never calls this server again (rotate tc alone to have failed stations reverted)';
  }
  return null;
}

/**
 * The identity an approval compares with the creator's: the API key id when the
 * actor came through the API (two keys are two identities, even with one name),
 * else the actor's name: `local:<user>` for the CLI on the server host (another
 * operating-system user is another identity, the same user is the same one, whatever
 * key or none it used), `server` for the server itself.
 */
export function approverIdentity(actor: { readonly keyId: string | null; readonly name: string }): string {
  return actor.keyId === null ? `name:${actor.name}` : `key:${actor.keyId}`;
}

/** The state in words, for people: what it is and what it waits for. */
export function stateWords(r: Pick<Rollout, 'state' | 'approval' | 'haltReason' | 'wave' | 'waveSizes' | 'plan'>): string {
  const of = r.waveSizes.length;
  switch (r.state) {
    case 'scheduled':
      return r.plan.startAt === undefined ? 'scheduled' : `scheduled to start at ${r.plan.startAt}`;
    case 'waiting_for_approval':
      return 'waiting for approval by an operator other than its creator';
    case 'running':
      return r.wave === 0 ? 'starting' : `running wave ${r.wave} of ${of}`;
    case 'paused':
      return r.plan.pauseAfterWave === true ? `paused after wave ${r.wave} of ${of} (resume to go on)` : `paused in wave ${r.wave} of ${of}`;
    case 'halted':
      return `halted: ${r.haltReason ?? 'no reason recorded'}`;
    case 'completed':
      return 'completed';
    case 'aborted':
      return r.approval?.decision === 'denied' ? `denied by ${r.approval.by}` : 'aborted';
    case 'rolled_back':
      return 'rolled back';
  }
}

export function isActive(state: RolloutState): boolean {
  return ACTIVE_ROLLOUT_STATES.includes(state);
}

/** The health soak a rollout runs, ms (0: none). */
export function healthSoakOf(plan: Pick<RolloutPlan, 'healthSoakMs'>): number {
  return plan.healthSoakMs ?? 0;
}

/**
 * Why a change cannot be health-soaked, or null when it can: a CUPS URI or CUPS
 * credential change makes the station call again at once (PROTOCOL.md 5.2),
 * which a soak would take for a failure.
 */
export function soakRefusal(change: RolloutChange): string | null {
  if (change.kind === 'cupsUri') return 'a CUPS URI change makes the station call CUPS again at once (its next call is not a sign of failure)';
  if (change.kind === 'credentials' && change.categories.includes('cups')) return 'a CUPS credential change makes the station call CUPS again at once (its next call is not a sign of failure)';
  return null;
}

/** The default health soak: 30 min for TC URI, TC credential and firmware rollouts; none where it cannot apply. */
export const DEFAULT_HEALTH_SOAK_MS = 30 * 60_000;
export function defaultHealthSoakMs(change: RolloutChange): number {
  return soakRefusal(change) === null ? DEFAULT_HEALTH_SOAK_MS : 0;
}
