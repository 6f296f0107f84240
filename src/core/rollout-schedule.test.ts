import { describe, expect, it } from 'vitest';
import { isCupsError } from './errors.js';
import { callsFallInWindows, inWindow, nextWindowOpen, parseStartAt, parseWindow, windowMisses, windowsOpen } from './rollout-schedule.js';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return isCupsError(e) ? e.code : `not a project error: ${String(e)}`;
  }
  return 'no error';
};

describe('parseWindow', () => {
  it('reads days, hours and zone, and spells them the same way back', () => {
    expect(parseWindow('Mon-Fri 01:00-05:00 Europe/Berlin')).toMatchObject({ days: [1, 2, 3, 4, 5], start: 60, end: 300, zone: 'Europe/Berlin', text: 'Mon-Fri 01:00-05:00 Europe/Berlin' });
    expect(parseWindow('Fri-Mon 01:00-05:00 UTC').text).toBe('Mon,Fri-Sun 01:00-05:00 UTC');
    expect(parseWindow('sun,sat 01:00-05:00 UTC').text).toBe('Sat,Sun 01:00-05:00 UTC');
    expect(parseWindow('  sat,sun   22:00-02:00 UTC ')).toMatchObject({ days: [0, 6], start: 1320, end: 120, zone: 'UTC' });
    expect(parseWindow('Fri-Mon 00:00-24:00 America/New_York')).toMatchObject({ days: [0, 1, 5, 6], start: 0, end: 1440 });
    expect(parseWindow('daily 03:00-04:00 Asia/Kolkata').text).toBe('daily 03:00-04:00 Asia/Kolkata');
  });

  it('refuses what it cannot read, with the project error', () => {
    for (const bad of ['Mon-Fri 01:00-05:00', 'Mon-Fri 1:00-5:00 UTC', 'Monday 01:00-05:00 UTC', 'Mon-Fri 01:00-25:00 UTC', 'Mon-Fri 24:00-05:00 UTC', 'Mon-Fri 01:00-01:00 UTC', 'Mon-Fri 01:00-05:00 Mars/Olympus', 'Mon-Wed-Fri 01:00-05:00 UTC', '']) {
      expect(code(() => parseWindow(bad)), bad).toBe('invalid_window');
    }
  });
});

describe('parseStartAt', () => {
  const now = new Date('2026-12-07T10:00:00Z');
  it('takes an ISO time with its offset or a duration from now', () => {
    expect(parseStartAt('2h', now).toISOString()).toBe('2026-12-07T12:00:00.000Z');
    expect(parseStartAt('2026-12-08T02:00+01:00', now).toISOString()).toBe('2026-12-08T01:00:00.000Z');
    expect(parseStartAt('2026-12-08T02:00:30Z', now).toISOString()).toBe('2026-12-08T02:00:30.000Z');
  });
  it('refuses a time without zone, one in the past, and anything else', () => {
    expect(code(() => parseStartAt('2026-12-08T02:00', now))).toBe('invalid_start_at');
    expect(code(() => parseStartAt('2026-12-07T09:00Z', now))).toBe('start_at_past');
    expect(code(() => parseStartAt('tomorrow', now))).toBe('invalid_start_at');
    expect(code(() => parseStartAt('2026-02-30T01:00Z', now))).toBe('invalid_start_at');
  });
});

describe('windows on the clock', () => {
  const berlin = parseWindow('Mon-Fri 01:00-05:00 Europe/Berlin');
  it('follows the zone: 01:00 in Berlin is 00:00 UTC in winter and 23:00 UTC the day before in summer', () => {
    expect(inWindow(berlin, new Date('2026-12-07T00:00:00Z'))).toBe(true); // Monday 01:00 CET
    expect(inWindow(berlin, new Date('2026-12-06T23:59:00Z'))).toBe(false);
    expect(inWindow(berlin, new Date('2026-12-07T03:59:00Z'))).toBe(true);
    expect(inWindow(berlin, new Date('2026-12-07T04:00:00Z'))).toBe(false);
    expect(inWindow(berlin, new Date('2026-07-05T23:00:00Z'))).toBe(true); // Monday 6 July 01:00 CEST
    expect(inWindow(berlin, new Date('2026-07-06T03:00:00Z'))).toBe(false); // 05:00 CEST
    expect(inWindow(berlin, new Date('2026-12-05T00:30:00Z'))).toBe(false); // Saturday
  });

  it('is three real hours on the night clocks go forward and five on the night they go back', () => {
    const sunday = parseWindow('Sun 01:00-05:00 Europe/Berlin');
    // 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    expect(nextWindowOpen([sunday], new Date('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(inWindow(sunday, new Date('2026-03-29T02:59:00Z'))).toBe(true); // 04:59 CEST
    expect(inWindow(sunday, new Date('2026-03-29T03:00:00Z'))).toBe(false); // 05:00 CEST
    // 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC).
    expect(nextWindowOpen([sunday], new Date('2026-10-24T12:00:00Z')).toISOString()).toBe('2026-10-24T23:00:00.000Z');
    expect(inWindow(sunday, new Date('2026-10-25T03:59:00Z'))).toBe(true); // 04:59 CET
    expect(inWindow(sunday, new Date('2026-10-25T04:00:00Z'))).toBe(false);
  });

  it('an overnight window belongs to the day it opens', () => {
    const w = parseWindow('Fri 22:00-02:00 UTC');
    expect(inWindow(w, new Date('2026-12-11T22:30:00Z'))).toBe(true); // Friday
    expect(inWindow(w, new Date('2026-12-12T01:59:00Z'))).toBe(true); // Saturday morning
    expect(inWindow(w, new Date('2026-12-12T22:30:00Z'))).toBe(false); // Saturday night
    expect(inWindow(w, new Date('2026-12-11T01:00:00Z'))).toBe(false); // Friday morning: Thursday did not open
  });

  it('finds the next opening across a weekend, and none is needed without windows', () => {
    const fri = new Date('2026-12-11T06:00:00Z');
    expect(nextWindowOpen([berlin], fri).toISOString()).toBe('2026-12-14T00:00:00.000Z');
    expect(nextWindowOpen([], fri)).toBe(fri);
    expect(windowsOpen([], fri)).toBe(true);
    expect(windowsOpen([berlin, parseWindow('Fri 06:00-07:00 UTC')], fri)).toBe(true);
  });
});

describe('stations a window misses', () => {
  const w = parseWindow('daily 01:00-05:00 UTC');
  const day = 86_400_000;
  it('a daily caller at noon never falls in, one at 03:00 does; a failing or silent one is not judged', () => {
    const now = new Date('2026-12-07T13:00:00Z');
    const healthy = { state: 'healthy', intervalMs: day };
    expect(callsFallInWindows([w], new Date('2026-12-07T12:05:00Z'), day, 7 * day)).toBe(false);
    expect(callsFallInWindows([w], new Date('2026-12-07T03:05:00Z'), day, 7 * day)).toBe(true);
    // An interval a little over a day drifts into the window within the week.
    expect(callsFallInWindows([w], new Date('2026-12-07T12:05:00Z'), day + 3 * 3_600_000, 7 * day)).toBe(true);
    const misses = windowMisses(
      [w],
      new Map([
        ['B', { lastSeenAt: new Date('2026-12-07T12:05:00Z'), health: healthy }],
        ['A', { lastSeenAt: new Date('2026-12-07T03:05:00Z'), health: healthy }],
        ['C', { lastSeenAt: new Date('2026-12-07T12:55:00Z'), health: { state: 'lns_failing', intervalMs: day } }],
        ['D', { lastSeenAt: new Date('2026-12-04T12:05:00Z'), health: healthy }],
        ['E', { lastSeenAt: null, health: null }],
        ['F', { lastSeenAt: new Date('2026-12-07T09:30:00Z'), health: null }],
      ]),
      now,
      day,
      2 * 3_600_000,
    );
    expect(misses.map((m) => [m.eui, m.usualCallTime, m.zone])).toEqual([['B', '12:05', 'UTC'], ['F', '09:30', 'UTC']]);
  });
});
