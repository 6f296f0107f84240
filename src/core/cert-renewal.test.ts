import { describe, expect, it } from 'vitest';
import { recentStarts, renewalBudget, renewalRange } from './cert-renewal.js';

describe('certificate renewal pacing', () => {
  const starts = [0, 10_000, 59_999, 60_000, 61_000];
  it.each([
    // [now, max, budget]
    [0, 3, 2],
    [59_999, 3, 0],
    [60_000, 3, 0],
    [60_001, 3, 0],
    [70_000, 3, 0],
    [119_999, 3, 1],
    [121_001, 3, 3],
    [121_001, 0, 0],
    [30_000, 10, 8],
  ])('at %i ms with %i per minute, %i may start', (now, max, budget) => {
    expect(renewalBudget(starts, now, max)).toBe(budget);
  });

  it('forgets starts older than a minute and ignores ones after now', () => {
    expect(recentStarts(starts, 60_500)).toEqual([10_000, 59_999, 60_000]);
    expect(recentStarts(starts, 5_000)).toEqual([0]);
  });

  it('renews from now until the threshold, never what has already expired', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(renewalRange(now, 30 * 86_400_000)).toEqual({ from: now, before: new Date('2027-01-06T12:00:00Z') });
  });
});
