import type { HealthRecord, HealthState } from './health.js';

/**
 * The beats of PROTOCOL.md 8 recognised in a failing station's gap: the
 * fingerprint that tells what is wrong with its LNS connection.
 */
const BEATS: readonly { readonly ms: number; readonly within: number; readonly says: string }[] = [
  { ms: 450_000, within: 5_000, says: 'the 450 s beat of an LNS connection refused, reset or answered with an HTTP error' },
  { ms: 60_000, within: 3_000, says: 'the 60 s beat of a router the LNS rejects, or of a station without a TC URI' },
];

/** Which known beat a gap is on, in words; undefined when none. */
export function beatOf(gapMs: number): string | undefined {
  for (const b of BEATS) if (Math.abs(gapMs - b.ms) <= b.within) return b.says;
  // An LNS host that drops packets: each connect attempt blocks ~134 s, so the station calls every ~25-32 min.
  if (gapMs >= 24 * 60_000 && gapMs <= 33 * 60_000) return 'the ~25-32 min rhythm of an LNS host that does not answer at all';
  return undefined;
}

/** A duration in the largest unit that reads well: 45 s, 7.5 min, 3 h, 2 d. */
export function spoken(ms: number): string {
  const s = ms / 1000;
  if (s < 90) return `${round(s)} s`;
  if (s < 5400) return `${round(s / 60)} min`;
  if (s < 2 * 86_400) return `${round(s / 3600)} h`;
  return `${round(s / 86_400)} d`;
}

function round(n: number): string {
  return n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
}

/** HH:MM UTC, the way an operator reads a time of day (the date when not today). */
function clock(at: Date, now: Date): string {
  const iso = at.toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/**
 * Why a station has the health it has, in words, e.g. "calls CUPS every 7.5 min
 * since 12:04 UTC: its LNS connection is failing (the 450 s beat of …)".
 */
export function healthReason(state: HealthState, rec: HealthRecord | null | undefined, lastSeenAt: Date | null, now: Date, hasTc = true): string {
  switch (state) {
    case 'silent':
      return lastSeenAt === null
        ? 'never seen'
        : `not seen for ${spoken(now.getTime() - lastSeenAt.getTime())} (its regular interval is ${spoken(rec?.intervalMs ?? 86_400_000)})`;
    case 'lns_failing': {
      const gap = rec?.gapMs ?? 0;
      const beat = beatOf(gap);
      const since = rec?.since === null || rec?.since === undefined ? '' : ` since ${clock(rec.since, now)}`;
      return `calls CUPS every ${spoken(gap)}${since}: its LNS connection is failing${beat === undefined ? '' : ` (${beat})`}`;
    }
    case 'healthy': {
      const regular = `calls CUPS at its regular interval (${spoken(rec?.intervalMs ?? 86_400_000)}): no sign of failure`;
      return rec !== null && rec !== undefined && rec.earlyRun > 0 ? `${regular}; one early call since (a restart, or the start of a failure)` : regular;
    }
    case 'unknown':
      if (lastSeenAt === null) return 'never seen';
      if (!hasTc) return 'no TC URI: it calls CUPS every minute by design and has no LNS connection to judge';
      if (rec !== null && rec !== undefined && rec.earlyRun > 0) return 'called CUPS early (a restart, or the start of a failure): the next call tells';
      return 'not enough history yet: the next call tells';
  }
}

/** A station's health as shown to an operator at `now`. */
export interface HealthView {
  readonly state: HealthState;
  /** In words, e.g. "calls CUPS every 7.5 min since 12:04 UTC: its LNS connection is failing". */
  readonly reason: string;
  /** When the state began (for silent: the last exchange); null when not known. */
  readonly since: Date | null;
  /** The station's regular interval (learned, or the server's default). */
  readonly intervalMs: number;
  /** The time between calls that decided the state (a failing station's beat). */
  readonly gapMs: number | null;
  /** Early calls in a row right now. */
  readonly earlyRun: number;
}

export function healthView(rec: HealthRecord | null | undefined, lastSeenAt: Date | null, now: Date, t: { readonly intervalMs: number; readonly graceMs: number }, hasTc = true): HealthView {
  const interval = rec?.intervalMs ?? t.intervalMs;
  const silent = lastSeenAt !== null && now.getTime() - lastSeenAt.getTime() > interval + t.graceMs;
  const state: HealthState = silent ? 'silent' : (rec?.state ?? 'unknown');
  return {
    state,
    reason: healthReason(state, rec, lastSeenAt, now, hasTc),
    since: silent ? lastSeenAt : (rec?.since ?? null),
    intervalMs: interval,
    gapMs: rec?.gapMs ?? null,
    earlyRun: rec?.earlyRun ?? 0,
  };
}
