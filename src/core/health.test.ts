import { describe, expect, it } from 'vitest';
import { beatOf, healthReason, spoken } from './health-reason.js';
import { DEFAULT_HEALTH, effectiveHealth, healthSteady, healthStep, type HealthRecord, type HealthState, type HealthThresholds } from './health.js';

const T0 = new Date('2026-03-02T12:04:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const H = 3600;
const D = 24 * H;

/** Runs exchanges at these seconds (a `!` suffix: that answer carried a CUPS URI or credential change) and returns each state. */
function run(calls: readonly (number | `${number}!`)[], t: HealthThresholds = DEFAULT_HEALTH): { states: HealthState[]; froms: HealthState[]; rec: HealthRecord | null } {
  let rec: HealthRecord | null = null;
  let prev: Date | null = null;
  const states: HealthState[] = [];
  const froms: HealthState[] = [];
  for (const c of calls) {
    const callsAgain = typeof c === 'string';
    const now = at(Number(String(c).replace('!', '')));
    const step = healthStep(rec, prev, now, callsAgain, t);
    // The hot path's check agrees with the full rule whenever nothing is sent.
    if (!callsAgain) expect(healthSteady(rec, prev?.getTime() ?? -1, now.getTime(), t)).toBe(!step.dirty);
    rec = step.record;
    prev = now;
    states.push(rec.state);
    froms.push(step.from);
  }
  return { states, froms, rec };
}

describe('health from the cadence of CUPS calls', () => {
  it.each<[string, (number | `${number}!`)[], HealthState[]]>([
    ['first call: not enough history', [0], ['unknown']],
    ['regular 24 h cadence', [0, D, 2 * D, 3 * D], ['unknown', 'healthy', 'healthy', 'healthy']],
    ['refused LNS: the 450 s beat, failing at the second early call', [0, 450.2, 900.2, 1350.2], ['unknown', 'unknown', 'lns_failing', 'lns_failing']],
    ['router rejected: the 60 s beat', [0, D, D + 60, D + 120, D + 180], ['unknown', 'healthy', 'healthy', 'lns_failing', 'lns_failing']],
    ['LNS host drops packets: every ~28 min is still early', [0, D, D + 1680, D + 3360], ['unknown', 'healthy', 'healthy', 'lns_failing']],
    ['a single early call (restart) is not a failure', [0, D, D + 30, 2 * D + 30, 3 * D + 30], ['unknown', 'healthy', 'healthy', 'healthy', 'healthy']],
    ['a restart then a regular call resets the run', [0, D, D + 30, 2 * D + 30, 2 * D + 500], ['unknown', 'healthy', 'healthy', 'healthy', 'healthy']],
    ['recovers at the first regular call', [0, 450, 900, 900 + D], ['unknown', 'unknown', 'lns_failing', 'healthy']],
    ['a CUPS URI change: the call that follows at once is not early', [0, `${D}!`, D + 5, D + 10 + D], ['unknown', 'healthy', 'healthy', 'healthy']],
    ['after an explained call the beat still counts', [0, D, `${2 * D}!`, 2 * D + 2, 2 * D + 452, 2 * D + 902], ['unknown', 'healthy', 'healthy', 'healthy', 'healthy', 'lns_failing']],
    ['back after a silence: unknown until the rhythm tells', [0, D, D + 3 * D, D + 3 * D + 450, D + 3 * D + 900], ['unknown', 'healthy', 'unknown', 'unknown', 'lns_failing']],
  ])('%s', (_name, calls, states) => {
    expect(run(calls).states).toEqual(states);
  });

  it('a station without a TC URI calls every minute by design: unknown, never lns_failing, and steady on its beat', () => {
    let rec: HealthRecord | null = null;
    let prev: Date | null = null;
    const seen: [HealthState, boolean][] = [];
    for (const s of [0, 60, 120, 180, 240]) {
      const step = healthStep(rec, prev, at(s), false, DEFAULT_HEALTH, false);
      expect(healthSteady(rec, prev?.getTime() ?? -1, at(s).getTime(), DEFAULT_HEALTH, false)).toBe(!step.dirty);
      seen.push([step.record.state, step.dirty]);
      rec = step.record;
      prev = at(s);
    }
    expect(seen).toEqual([['unknown', true], ['unknown', false], ['unknown', false], ['unknown', false], ['unknown', false]]);
    expect(healthReason('unknown', rec, at(240), at(250), false)).toMatch(/^no TC URI/);
    // Given a TC URI later, the beat counts from there.
    const failing = healthStep(healthStep(rec, at(240), at(300), false, DEFAULT_HEALTH).record, at(300), at(360), false, DEFAULT_HEALTH);
    expect(failing.record.state).toBe('lns_failing');
  });

  it('says where it came from, silent included', () => {
    const { froms } = run([0, D, 4 * D, 4 * D + 450, 4 * D + 900]);
    expect(froms).toEqual(['unknown', 'unknown', 'silent', 'unknown', 'unknown']);
  });

  it('lns_failing dates from the exchange after which the station started returning early, with its beat', () => {
    const { rec } = run([0, D, D + 450.2, D + 900.4, D + 1350.6]);
    expect(rec?.state).toBe('lns_failing');
    expect(rec?.since).toEqual(at(D));
    expect(rec?.gapMs).toBeCloseTo(450_200, -1);
    expect(healthReason('lns_failing', rec, at(D + 1350.6), at(D + 1400))).toBe(
      'calls CUPS every 7.5 min since 12:04 UTC: its LNS connection is failing (the 450 s beat of an LNS connection refused, reset or answered with an HTTP error)',
    );
  });

  it('a failing station that keeps its beat leaves the record unchanged (the hot path answers from memory)', () => {
    let rec: HealthRecord | null = null;
    let prev: Date | null = null;
    const dirty: boolean[] = [];
    for (const s of [0, 450, 900, 1350, 1800, 2250]) {
      const step = healthStep(rec, prev, at(s), false, DEFAULT_HEALTH);
      dirty.push(step.dirty);
      rec = step.record;
      prev = at(s);
    }
    expect(dirty).toEqual([true, true, true, false, false, false]);
  });

  it('a healthy station at its regular check changes nothing, a few seconds late or early', () => {
    const { rec } = run([0, D, 2 * D]);
    expect(healthStep(rec, at(2 * D), at(3 * D + 40), false, DEFAULT_HEALTH).dirty).toBe(false);
    expect(healthSteady(rec, at(2 * D).getTime(), at(3 * D - 40).getTime(), DEFAULT_HEALTH)).toBe(true);
  });

  it('learns a station’s own regular interval from two gaps alike, and judges silence by it', () => {
    const { rec } = run([0, 6 * H, 12 * H, 18 * H]);
    expect(rec?.intervalMs).toBe(6 * H * 1000);
    expect(effectiveHealth(rec, at(18 * H), at(18 * H + 7 * H), DEFAULT_HEALTH)).toBe('healthy');
    expect(effectiveHealth(rec, at(18 * H), at(18 * H + 9 * H), DEFAULT_HEALTH)).toBe('silent');
  });

  it('one odd gap (a restart hours before the check) does not move the interval', () => {
    const { rec } = run([0, D, D + 10 * H, 2 * D + 10 * H]);
    expect(rec?.intervalMs).toBe(D * 1000);
    expect(rec?.candidateMs).toBeNull();
  });

  it('silent is read off the clock with the default interval plus grace', () => {
    expect(effectiveHealth(null, null, at(0), DEFAULT_HEALTH)).toBe('unknown');
    const { rec } = run([0, D]);
    expect(effectiveHealth(rec, at(D), at(D + 25 * H), DEFAULT_HEALTH)).toBe('healthy');
    expect(effectiveHealth(rec, at(D), at(D + 27 * H), DEFAULT_HEALTH)).toBe('silent');
    expect(healthReason('silent', rec, at(D), at(D + 27 * H))).toBe('not seen for 27 h (its regular interval is 24 h)');
  });

  it('shrunk thresholds work the same (what tests and --health-* flags use)', () => {
    const t: HealthThresholds = { earlyMs: 1000, earlyCount: 3, graceMs: 500, intervalMs: 5000 };
    const calls = [0, 5, 10, 10.3, 10.6, 10.9, 11.2, 16.2].map((s) => s);
    expect(run(calls, t).states).toEqual(['unknown', 'healthy', 'healthy', 'healthy', 'healthy', 'lns_failing', 'lns_failing', 'healthy']);
  });

  it('recognises the beats', () => {
    expect(beatOf(450_200)).toMatch(/450 s/);
    expect(beatOf(61_000)).toMatch(/60 s/);
    expect(beatOf(28 * 60_000)).toMatch(/25-32 min/);
    expect(beatOf(300_000)).toBeUndefined();
    expect(spoken(450_200)).toBe('7.5 min');
    expect(spoken(60_000)).toBe('60 s');
  });
});
