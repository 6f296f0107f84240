/**
 * The timing rules of automatic station certificate renewal
 * (`serve --renew-station-certs-before`), pure functions of the clock.
 */

import { pacingBudget } from './pacing.js';

export { PACING_WINDOW_MS, recentStarts } from './pacing.js';

/** How many renewals may start at `now`, given when the recent ones started (core/pacing.ts). */
export const renewalBudget = pacingBudget;

/**
 * Which certificates a pass renews: those expiring from now (an expired one can
 * no longer reach CUPS to fetch a replacement) until `beforeMs` from now.
 */
export function renewalRange(now: Date, beforeMs: number): { readonly from: Date; readonly before: Date } {
  return { from: now, before: new Date(now.getTime() + beforeMs) };
}
