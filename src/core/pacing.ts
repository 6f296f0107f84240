/**
 * Pacing "at most N starts in any minute", shared by everything the server
 * starts on its own at a rate (certificate renewals, rollout offers): a pure
 * function of when the recent starts were and the clock.
 */

/** Pacing window: at most `maxPerMinute` starts in any 60 s. */
export const PACING_WINDOW_MS = 60_000;

/** The start times (ms) still inside the pacing window at `now`, oldest first. */
export function recentStarts(starts: readonly number[], now: number): number[] {
  return starts.filter((t) => t > now - PACING_WINDOW_MS && t <= now);
}

/** How many more may start at `now`, given when the recent ones started. */
export function pacingBudget(starts: readonly number[], now: number, maxPerMinute: number): number {
  return Math.max(0, Math.floor(maxPerMinute) - recentStarts(starts, now).length);
}
