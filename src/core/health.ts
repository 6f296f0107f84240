/**
 * Gateway health from the station's own CUPS cadence (PROTOCOL.md 8). A station
 * whose LNS (TC) connection works calls CUPS at its regular check (24 h by
 * default); one whose LNS connection fails is back within minutes, on a 450 s
 * (refused, reset, HTTP error on the upgrade) or 60 s (router rejected) beat.
 * Nothing in the request tells an early call from a regular one: only the time
 * since the previous exchange does. Pure: the previous record, the previous
 * exchange time and this one's in, the next record out.
 */

/** What the server can say about a station's link to its network server. */
export const HEALTH_STATES = ['unknown', 'healthy', 'lns_failing', 'silent'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** The states an exchange can leave behind; `silent` is read off the clock between exchanges. */
export type RecordedHealthState = Exclude<HealthState, 'silent'>;

/** The thresholds, from the server's flags (defaults from the station's own defaults). */
export interface HealthThresholds {
  /** An exchange sooner than this after the previous one is early (`--health-early`, 1 h). */
  readonly earlyMs: number;
  /** Early exchanges in a row that make a station lns_failing (`--health-early-count`, 2). */
  readonly earlyCount: number;
  /** Silent once not seen for its regular interval plus this (`--health-grace`, 2 h). */
  readonly graceMs: number;
  /** The regular interval assumed until a station's own history tells another (`--health-interval`, 24 h). */
  readonly intervalMs: number;
}

export const DEFAULT_HEALTH: HealthThresholds = Object.freeze({
  earlyMs: 3_600_000,
  earlyCount: 2,
  graceMs: 2 * 3_600_000,
  intervalMs: 24 * 3_600_000,
});

/** What the registry keeps per station between exchanges. */
export interface HealthRecord {
  readonly state: RecordedHealthState;
  /** Early exchanges in a row, counted up to the threshold (so a failing station's record stops changing). */
  readonly earlyRun: number;
  /** The exchange after which the current run of early calls began; null without a run. */
  readonly runFrom: Date | null;
  /** When the current state began (for lns_failing: the exchange after which the station started returning early). */
  readonly since: Date | null;
  /** The time between the two exchanges that decided the current state, ms (the beat of a failing station). */
  readonly gapMs: number | null;
  /** The station's regular interval, learned from its own history. */
  readonly intervalMs: number;
  /** A regular gap that differed from intervalMs, waiting for a second like it to become the interval. */
  readonly candidateMs: number | null;
  /** The last answer carried a CUPS URI or CUPS credential change: the station calls again at once (PROTOCOL.md 5.2). */
  readonly callsAgain: boolean;
}

/** A health change as an event: what a notification would carry. */
export interface HealthChange {
  readonly kind: 'health_changed';
  readonly eui: string;
  readonly from: HealthState;
  readonly to: RecordedHealthState;
  readonly reason: string;
  readonly at: Date;
}

export interface HealthStep {
  readonly record: HealthRecord;
  /** The state before this exchange, `silent` when the station had been silent. */
  readonly from: HealthState;
  /** The state changed (an event); `dirty` alone means only the record's counters moved. */
  readonly changed: boolean;
  /** The record differs from the previous one and must be written. */
  readonly dirty: boolean;
}

/** A learned interval moves only for a gap more than this fraction away from it. */
const INTERVAL_TOLERANCE = 0.1;

export function initialHealth(t: HealthThresholds): HealthRecord {
  return { state: 'unknown', earlyRun: 0, runFrom: null, since: null, gapMs: null, intervalMs: t.intervalMs, candidateMs: null, callsAgain: false };
}

function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= INTERVAL_TOLERANCE * b;
}

/**
 * The record after an exchange at `at`. `previousAt` is the previous exchange
 * (null: none known), `callsAgain` whether this exchange's answer carries a
 * CUPS URI or CUPS credential change, `hasTc` whether the station reports a TC
 * URI: without one it calls every minute by design and has no LNS health.
 */
export function healthStep(previous: HealthRecord | null, previousAt: Date | null, at: Date, callsAgain: boolean, t: HealthThresholds, hasTc = true): HealthStep {
  const rec = previous ?? initialHealth(t);
  let next: HealthRecord;
  let from: HealthState = rec.state;
  if (previousAt === null) {
    next = { ...rec, callsAgain };
  } else {
    const gap = at.getTime() - previousAt.getTime();
    const silent = gap > rec.intervalMs + t.graceMs && previous !== null;
    if (silent) from = 'silent';
    if (!hasTc) {
      // No TC URI: the minute beat is its design, not a failure; nothing to judge.
      const stays = !silent && rec.state === 'unknown' && rec.earlyRun === 0;
      next = { ...rec, state: 'unknown', earlyRun: 0, runFrom: null, since: stays ? rec.since : at, gapMs: stays ? rec.gapMs : null, candidateMs: silent ? null : rec.candidateMs, callsAgain };
    } else if (silent) {
      // Back after a silence: a start-up call; the rhythm that follows tells.
      next = { ...rec, state: 'unknown', earlyRun: 0, runFrom: null, since: at, gapMs: gap, candidateMs: null, callsAgain };
    } else if (rec.callsAgain) {
      // Told to call again at once: this call says nothing about the LNS link.
      next = { ...rec, callsAgain };
    } else if (gap < t.earlyMs) {
      const run = Math.min(rec.earlyRun + 1, t.earlyCount);
      const runFrom = rec.earlyRun === 0 ? previousAt : rec.runFrom;
      if (run >= t.earlyCount && rec.state !== 'lns_failing') {
        next = { ...rec, state: 'lns_failing', earlyRun: run, runFrom, since: runFrom, gapMs: gap, callsAgain };
      } else {
        next = { ...rec, earlyRun: run, runFrom, callsAgain };
      }
    } else {
      let { intervalMs, candidateMs } = rec;
      if (near(gap, intervalMs)) candidateMs = null;
      else if (candidateMs !== null && near(gap, candidateMs)) {
        intervalMs = gap;
        candidateMs = null;
      } else candidateMs = gap;
      const becameHealthy = rec.state !== 'healthy';
      next = {
        ...rec,
        state: 'healthy',
        earlyRun: 0,
        runFrom: null,
        since: becameHealthy ? at : rec.since,
        gapMs: becameHealthy ? gap : rec.gapMs,
        intervalMs,
        candidateMs,
        callsAgain,
      };
    }
  }
  const changed = next.state !== from;
  return { record: next, from, changed, dirty: previous === null || changed || !sameRecord(previous, next) };
}

/**
 * Whether an exchange that sends nothing at `atMs` leaves `rec` exactly as it is:
 * the hot path's check, allocation-free, true exactly when healthStep(rec,
 * previousAt, at, false, t) is not dirty.
 */
export function healthSteady(rec: HealthRecord | undefined | null, previousAtMs: number, atMs: number, t: HealthThresholds, hasTc = true): boolean {
  if (rec === undefined || rec === null || rec.callsAgain || !(previousAtMs >= 0)) return false;
  const gap = atMs - previousAtMs;
  if (gap > rec.intervalMs + t.graceMs) return false;
  if (!hasTc) return rec.state === 'unknown' && rec.earlyRun === 0;
  if (gap < t.earlyMs) return rec.state === 'lns_failing' && rec.earlyRun === t.earlyCount;
  return rec.state === 'healthy' && rec.earlyRun === 0 && rec.runFrom === null && rec.candidateMs === null && near(gap, rec.intervalMs);
}

function sameRecord(a: HealthRecord, b: HealthRecord): boolean {
  return (
    a.state === b.state &&
    a.earlyRun === b.earlyRun &&
    (a.runFrom?.getTime() ?? null) === (b.runFrom?.getTime() ?? null) &&
    (a.since?.getTime() ?? null) === (b.since?.getTime() ?? null) &&
    a.gapMs === b.gapMs &&
    a.intervalMs === b.intervalMs &&
    a.candidateMs === b.candidateMs &&
    a.callsAgain === b.callsAgain
  );
}

/** The state to show at `now`: the recorded one, or silent when the station has not called for its interval plus grace. */
export function effectiveHealth(rec: HealthRecord | undefined | null, lastSeenAt: Date | null, now: Date, t: HealthThresholds): HealthState {
  if (lastSeenAt !== null && now.getTime() - lastSeenAt.getTime() > (rec?.intervalMs ?? t.intervalMs) + t.graceMs) return 'silent';
  return rec?.state ?? 'unknown';
}
