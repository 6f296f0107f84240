/**
 * The timing rules of automatic station certificate renewal
 * (`serve --renew-station-certs-before`), pure functions of the clock.
 */

/** Pacing window: at most `maxPerMinute` renewals start in any 60 s. */
export const PACING_WINDOW_MS = 60_000;

/** The start times (ms) still inside the pacing window at `now`, oldest first. */
export function recentStarts(starts: readonly number[], now: number): number[] {
  return starts.filter((t) => t > now - PACING_WINDOW_MS && t <= now);
}

/** How many renewals may start at `now`, given when the recent ones started. */
export function renewalBudget(starts: readonly number[], now: number, maxPerMinute: number): number {
  return Math.max(0, Math.floor(maxPerMinute) - recentStarts(starts, now).length);
}

/**
 * Which certificates a pass renews: those expiring from now (an expired one can
 * no longer reach CUPS to fetch a replacement) until `beforeMs` from now.
 */
export function renewalRange(now: Date, beforeMs: number): { readonly from: Date; readonly before: Date } {
  return { from: now, before: new Date(now.getTime() + beforeMs) };
}
