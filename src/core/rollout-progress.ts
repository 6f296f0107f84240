import { spoken } from './health-reason.js';
import { failuresAllowed, healthSoakOf, MEMBER_STATES, type MemberState, type Rollout, type RolloutMember } from './rollout.js';
import { nextWindowOpen, planWindows, windowsOpen } from './rollout-schedule.js';

/** What `rollout show`, the API and the gauges print about a rollout: counts per wave, the gate, the ETA. */

/** Members per state; `soaking` counts the offered ones whose change was delivered and whose health soak runs. */
export type StateCounts = Record<MemberState, number> & { soaking: number };

export interface WaveProgress extends StateCounts {
  readonly wave: number;
  /** Stations in this wave. */
  readonly stations: number;
}

export interface RolloutProgress {
  readonly waves: readonly WaveProgress[];
  readonly totals: StateCounts;
  /** Failures allowed before the rollout halts itself. */
  readonly failuresAllowed: number;
  /** One line: what the rollout waits for now. */
  readonly gate: string;
  /** When it should be done at the pace so far; null when finished or halted. */
  readonly eta: Date | null;
  /** What the ETA rests on, in words: when a change reaches a healthy station and a failing one. */
  readonly etaNote: string;
}

/** The regular interval a station calls CUPS at, when the caller knows none (the station's default, PROTOCOL.md 8). */
const REGULAR_INTERVAL_MS = 24 * 3_600_000;

export function emptyCounts(): StateCounts {
  return { ...(Object.fromEntries(MEMBER_STATES.map((s) => [s, 0])) as Record<MemberState, number>), soaking: 0 };
}

/** `intervalMs`: the stations' regular interval (the server's `--health-interval`), which paces a rollout. */
export function rolloutProgress(rollout: Rollout, members: readonly RolloutMember[], now: Date, intervalMs = REGULAR_INTERVAL_MS): RolloutProgress {
  return rolloutProgressFromCounts(rollout, members.map((m) => ({ wave: m.wave, state: m.state, count: 1, soaking: m.state === 'offered' && (m.soakFrom ?? null) !== null })), now, intervalMs);
}

/** The same from member counts by wave and state (an SQL aggregate), without the member rows. */
export function rolloutProgressFromCounts(
  rollout: Rollout,
  counts: readonly { readonly wave: number; readonly state: MemberState; readonly count: number; readonly soaking?: boolean }[],
  now: Date,
  intervalMs = REGULAR_INTERVAL_MS,
): RolloutProgress {
  const waves: WaveProgress[] = rollout.waveSizes.map((_, i) => ({ wave: i + 1, stations: 0, ...emptyCounts() }));
  const totals = emptyCounts();
  let members = 0;
  for (const c of counts) {
    const w = waves[c.wave - 1];
    if (w !== undefined) {
      w[c.state] += c.count;
      if (c.soaking === true) w.soaking += c.count;
      (w as { stations: number }).stations += c.count;
    }
    totals[c.state] += c.count;
    if (c.soaking === true) totals.soaking += c.count;
    members += c.count;
  }
  const allowed = failuresAllowed(rollout.plan.failureBudget, members - totals.skipped);
  return { waves, totals, failuresAllowed: allowed, gate: gateStatus(rollout, waves, now), eta: eta(rollout, now, intervalMs), etaNote: etaNote(rollout, intervalMs) };
}

function gateStatus(rollout: Rollout, waves: readonly WaveProgress[], now: Date): string {
  const gate = waveGate(rollout, waves, now);
  if (rollout.state !== 'running' && rollout.state !== 'paused') return gate;
  const windows = planWindows(rollout.plan);
  if (windowsOpen(windows, now)) return gate;
  return `${gate}; outside its windows: no offers until ${nextWindowOpen(windows, now).toISOString()}`;
}

function waveGate(rollout: Rollout, waves: readonly WaveProgress[], now: Date): string {
  const of = rollout.waveSizes.length;
  switch (rollout.state) {
    case 'scheduled':
      return `scheduled: starts at ${rollout.plan.startAt ?? 'the next evaluation'}${(rollout.plan.windows ?? []).length > 0 ? `; offers only in its windows (${(rollout.plan.windows ?? []).join('; ')})` : ''}`;
    case 'completed':
      return 'completed';
    case 'aborted':
      return 'aborted: offers not fetched yet were withdrawn and are never made again; stations that fetched the change keep it';
    case 'rolled_back':
      return 'rolled back';
    case 'halted':
      return `halted: ${rollout.haltReason ?? 'no reason recorded'}`;
    case 'paused':
      if (rollout.plan.pauseAfterWave === true && rollout.wavePassedAt !== null) return `paused after wave ${rollout.wave} of ${of} passed its gate (--pause-after-wave): wave ${rollout.wave + 1} starts once resumed`;
      return `paused in wave ${rollout.wave} of ${of}: no new offers, and offers not fetched yet were withdrawn until resumed`;
    case 'waiting_for_approval':
      return 'waiting for approval: nothing is offered until an operator other than its creator approves it (bscups rollout approve)';
    case 'running':
      break;
  }
  if (rollout.wave === 0) return 'starting: wave 1 is offered at the next evaluation';
  const w = waves[rollout.wave - 1];
  if (rollout.wavePassedAt !== null) {
    const until = new Date(rollout.wavePassedAt.getTime() + rollout.plan.soakMs);
    return until > now ? `wave ${rollout.wave} of ${of} passed; soaking until ${until.toISOString()}` : `wave ${rollout.wave} of ${of} passed; next wave at the next evaluation`;
  }
  const waiting = (w?.offered ?? 0) + (w?.pending ?? 0);
  const soaking = (w?.soaking ?? 0) > 0 ? `, ${w?.soaking} of them soaking` : '';
  return `wave ${rollout.wave} of ${of}: waiting for ${waiting} station(s) to confirm${soaking} (threshold ${Math.round(rollout.plan.successThreshold * 1000) / 10}%)`;
}

/**
 * Remaining waves at the average pace of the waves so far, each plus its soak.
 * Before a wave has passed, the pace is what a healthy station takes: the change
 * reaches it at its next regular check (up to its interval after the offer),
 * then its health soak runs; never more than the per-station deadline.
 * A scheduled rollout counts from its start. With time windows each wave's offers
 * wait for a window to open: the pace is counted from the next opening.
 */
function eta(rollout: Rollout, now: Date, intervalMs: number): Date | null {
  if (rollout.state !== 'running' && rollout.state !== 'paused' && rollout.state !== 'scheduled') return null;
  const startAt = rollout.plan.startAt === undefined ? null : Date.parse(rollout.plan.startAt);
  const began = Math.max(rollout.createdAt.getTime(), startAt ?? 0);
  const done = Math.max(0, rollout.wave - 1) + (rollout.wavePassedAt === null ? 0 : 1);
  const firstWave = Math.min(rollout.plan.deadlineMs, intervalMs + healthSoakOf(rollout.plan));
  const perWave = done > 0 ? Math.max(0, (rollout.wavePassedAt ?? rollout.waveStartedAt ?? now).getTime() - began) / done : firstWave;
  const left = rollout.waveSizes.length - done;
  const windows = planWindows(rollout.plan);
  let t = rollout.state === 'scheduled' ? Math.max(now.getTime(), startAt ?? 0) : now.getTime();
  for (let i = 0; i < left; i++) t = nextWindowOpen(windows, new Date(t)).getTime() + perWave + rollout.plan.soakMs;
  return new Date(t);
}

/** PROTOCOL.md 8.3: a station asks for a change only when it calls CUPS; a healthy one calls at its regular check. */
function etaNote(rollout: Rollout, intervalMs: number): string {
  const soak = healthSoakOf(rollout.plan);
  const soaked = soak > 0 ? `, then soaks ${spoken(soak)} before it counts as confirmed` : '';
  const failing = soak > 0 ? 'and fails its soak' : 'and gets the change then';
  return `a change reaches a healthy station at its next regular check, up to ${spoken(intervalMs)} after it was offered${soaked}; a station whose LNS connection fails calls CUPS within minutes ${failing}`;
}
