import { describe, expect, it } from 'vitest';
import { evaluateRollout, type StationObservation } from './rollout-gate.js';
import { rolloutProgress } from './rollout-progress.js';
import { defaultHealthSoakMs, parseWaves, soakRefusal, type Rollout, type RolloutChange, type RolloutMember } from './rollout.js';

// The health soak, as the gate decides it: a member's soak starts at the exchange
// that delivered its change (firmware: at the call reporting the new package); a
// call within the soak fails it, a quiet soak confirms it at the first evaluation
// after it ends, and a later report that contradicts the change still fails it.

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const SOAK = 1800_000;
const NEW = 'wss://new:6887';
const TC: RolloutChange = { kind: 'tcUri', uri: NEW };
const FW: RolloutChange = { kind: 'firmware', package: '2.0.0', allowDowngrade: false, maxOffers: 3 };

function rollout(change: RolloutChange, over: Partial<Rollout['plan']> = {}): Rollout {
  return {
    id: 'r1', name: null, change, selector: { labels: [] },
    plan: { waves: parseWaves('100%'), successThreshold: 0.5, failureBudget: { count: 0 }, deadlineMs: 90_000_000, soakMs: 0, includeNew: false, healthSoakMs: SOAK, ...over },
    waveSizes: [2], state: 'running', wave: 1, waveStartedAt: at(0), wavePassedAt: null, haltReason: null, rollbackOf: null,
    createdBy: 't', createdByIdentity: null, approval: null, createdAt: T0, updatedAt: T0, version: 1,
  };
}

const offered = (eui: string, over: Partial<RolloutMember> = {}): RolloutMember =>
  ({ eui, wave: 1, state: 'offered', reason: null, previous: { tcUri: 'ws://old:1', cupsUri: null, package: '1.0.0' }, offeredAt: at(0), deadlineAt: at(90_000), doneAt: null, soakFrom: null, reportDue: false, ...over });

function obs(over: Partial<StationObservation> & { tcUri?: string; pkg?: string } = {}): StationObservation {
  const { tcUri = 'ws://old:1', pkg = '1.0.0', ...rest } = over;
  return {
    exists: true, desired: { tcUri: NEW, cupsUri: null },
    reported: { model: 'linux', package: pkg, tcUri, cupsUri: null }, lastSeenAt: at(-10), reportedAt: at(-100), health: { earlyRun: 0, runFrom: null },
    firmware: null, credentials: { desired: { cups: 1, tc: 2 }, reported: { cups: 1, tc: 2 }, rotations: {} }, ...rest,
  };
}

function evaluate(r: Rollout, members: RolloutMember[], observations: Record<string, StationObservation>, now: Date) {
  return evaluateRollout({ rollout: r, members, observations: new Map(Object.entries(observations)), models: [], joiners: [], now });
}

describe('health soak of a TC URI rollout', () => {
  it('starts at the exchange that delivered the change (the station still reported the old URI)', () => {
    const step = evaluate(rollout(TC), [offered('A')], { A: obs({ lastSeenAt: at(100) }) }, at(110));
    expect(step.members).toEqual([expect.objectContaining({ eui: 'A', state: 'offered', soakFrom: at(100) })]);
    expect(step.events.map((e) => e.type)).toEqual(['soaking']);
    expect(rolloutProgress(rollout(TC), [offered('A', { soakFrom: at(100) }), offered('B')], at(110)).totals).toMatchObject({ offered: 2, soaking: 1 });
  });

  it('a call within the soak fails the member with the reason in words, spends the budget and halts the rollout', () => {
    const back = obs({ tcUri: NEW, lastSeenAt: at(550), reportedAt: at(550), health: { earlyRun: 1, runFrom: at(100) } });
    const step = evaluate(rollout(TC), [offered('A', { soakFrom: at(100) }), offered('B', { soakFrom: at(100) })], { A: back, B: obs({ lastSeenAt: at(100) }) }, at(560));
    expect(step.members.find((m) => m.eui === 'A')).toMatchObject({ state: 'failed', reason: 'back at CUPS 7.5 min after the change: its LNS connection is failing (the 450 s beat of an LNS connection refused, reset or answered with an HTTP error)' });
    expect(step.rollout).toMatchObject({ state: 'halted', haltReason: expect.stringMatching(/^failure budget exceeded: 1 failed, 0 allowed/) });
  });

  it('a return an evaluation did not see the delivery of is found from the health record (the run of early calls began at the delivery)', () => {
    const back = obs({ tcUri: NEW, lastSeenAt: at(160), reportedAt: at(160), health: { earlyRun: 1, runFrom: at(100) } });
    const step = evaluate(rollout(TC, { failureBudget: { count: 5 } }), [offered('A')], { A: back }, at(170));
    expect(step.members).toEqual([expect.objectContaining({ state: 'failed', soakFrom: at(100), reason: expect.stringMatching(/^back at CUPS 60 s after the change: .*the 60 s beat/) })]);
  });

  it('with no early run on record (the delivery was itself an early call), a first report within the soak of the offer still fails it', () => {
    const back = obs({ tcUri: NEW, lastSeenAt: at(500), reportedAt: at(500), health: { earlyRun: 2, runFrom: at(-20) } });
    expect(evaluate(rollout(TC, { failureBudget: { count: 5 } }), [offered('A')], { A: back }, at(510)).members).toEqual([expect.objectContaining({ state: 'failed', reason: expect.stringMatching(/^back at CUPS 8\.3 min after the change/) })]);
    const late = obs({ tcUri: NEW, lastSeenAt: at(86_000), reportedAt: at(86_000) });
    expect(evaluate(rollout(TC), [offered('A')], { A: late }, at(86_010)).members).toEqual([expect.objectContaining({ state: 'confirmed', reason: `reports tcUri ${NEW}; its first call after the change came after the soak` })]);
  });

  it('a quiet soak confirms the member at the first evaluation after it ends, without another call; its report is then due', () => {
    const quiet = obs({ lastSeenAt: at(100) });
    expect(evaluate(rollout(TC), [offered('A', { soakFrom: at(100) })], { A: quiet }, at(1899)).members).toEqual([]);
    const step = evaluate(rollout(TC), [offered('A', { soakFrom: at(100) })], { A: quiet }, at(1900));
    expect(step.members).toEqual([expect.objectContaining({ state: 'confirmed', reportDue: true, reason: expect.stringMatching(/^no call to CUPS for 30 min after the change: no sign of failure/) })]);
  });

  it('once confirmed, the report at the next regular check ends the watch, and a report contradicting the change fails the member', () => {
    const done = offered('A', { state: 'confirmed', soakFrom: at(100), reportDue: true, doneAt: at(1900), reason: 'no call' });
    const reports = evaluate(rollout(TC), [done], { A: obs({ tcUri: NEW, lastSeenAt: at(86_500), reportedAt: at(86_500) }) }, at(86_510));
    expect(reports.members).toEqual([expect.objectContaining({ state: 'confirmed', reportDue: false })]);
    expect(reports.events.filter((e) => e.eui !== undefined)).toEqual([]);
    const contradicts = evaluate(rollout(TC), [done], { A: obs({ tcUri: 'ws://old:1', lastSeenAt: at(86_500) }) }, at(86_510));
    expect(contradicts.members).toEqual([expect.objectContaining({ state: 'failed', reason: 'after its soak the station called CUPS without reporting the change' })]);
    expect(evaluate(rollout(TC), [done], { A: obs({ lastSeenAt: at(100) }) }, at(5000)).members).toEqual([]);
  });

  it('a rotation whose report arrived before its completion was written is waited for, not failed', () => {
    const ROT: RolloutChange = { kind: 'credentials', categories: ['tc'] };
    const done = offered('A', { state: 'confirmed', soakFrom: at(100), reportDue: true, doneAt: at(1900), reason: 'no call', previous: { tcUri: null, cupsUri: null, package: null, rotatedTo: { tc: 7 } } });
    const credentials = (reported: number, rotations: { tc?: number }) => ({ desired: { cups: 1, tc: 7 }, reported: { cups: 1, tc: reported }, rotations });
    // The exchange wrote the report (crc 7); its rotation's completion, a transaction of its own, is not written yet.
    const between = evaluate(rollout(ROT), [done], { A: obs({ lastSeenAt: at(86_500), credentials: credentials(7, { tc: 7 }) }) }, at(86_510));
    expect(between.members).toEqual([]);
    const completed = evaluate(rollout(ROT), [done], { A: obs({ lastSeenAt: at(86_500), credentials: credentials(7, {}) }) }, at(86_520));
    expect(completed.members).toEqual([expect.objectContaining({ state: 'confirmed', reportDue: false })]);
    const old = evaluate(rollout(ROT), [done], { A: obs({ lastSeenAt: at(86_500), credentials: credentials(2, { tc: 7 }) }) }, at(86_510));
    expect(old.members).toEqual([expect.objectContaining({ state: 'failed', reason: 'after its soak the station called CUPS without reporting the change' })]);
  });

  it('a completed rollout still watches the reports its soaks left due, and nothing else', () => {
    const done = offered('A', { state: 'confirmed', soakFrom: at(100), reportDue: true, doneAt: at(1900), reason: 'no call' });
    const completed = { ...rollout(TC), state: 'completed' as const };
    const step = evaluate(completed, [done, offered('B')], { A: obs({ tcUri: 'ws://other:1', lastSeenAt: at(86_500), reportedAt: at(86_500) }), B: obs({ tcUri: NEW, lastSeenAt: at(500), reportedAt: at(500) }) }, at(86_510));
    expect(step.members).toEqual([expect.objectContaining({ eui: 'A', state: 'failed' })]);
    expect(step.rollout).toEqual({});
  });

  it('before delivery the deadline applies as without a soak; while soaking it does not', () => {
    const lost = evaluate(rollout(TC), [offered('A', { deadlineAt: at(50) })], { A: obs({ lastSeenAt: at(-10) }) }, at(60));
    expect(lost.members).toEqual([expect.objectContaining({ state: 'failed', reason: expect.stringMatching(/^lost after offer/) })]);
    expect(evaluate(rollout(TC), [offered('A', { deadlineAt: at(50), soakFrom: at(40) })], { A: obs({ lastSeenAt: at(40) }) }, at(60)).members).toEqual([]);
  });

  it('without a soak (0), the report confirms as before', () => {
    const step = evaluate(rollout(TC, { healthSoakMs: 0 }), [offered('A')], { A: obs({ tcUri: NEW, lastSeenAt: at(550) }) }, at(560));
    expect(step.members).toEqual([expect.objectContaining({ state: 'confirmed', reason: `reports tcUri ${NEW}` })]);
  });
});

describe('health soak of a firmware rollout', () => {
  const fwObs = (over: Partial<StationObservation> & { pkg?: string } = {}) =>
    obs({ desired: { tcUri: null, cupsUri: null }, firmware: { package: '2.0.0', state: 'offered', offers: 1, lastOfferedAt: at(50), lastError: null }, ...over });

  it('the call that reports the new package (the restart) is not a failure: the soak runs from it', () => {
    const step = evaluate(rollout(FW), [offered('A')], { A: fwObs({ pkg: '2.0.0', lastSeenAt: at(80), reportedAt: at(80), health: { earlyRun: 1, runFrom: at(50) } }) }, at(90));
    expect(step.members).toEqual([expect.objectContaining({ state: 'offered', soakFrom: at(80) })]);
  });

  it('delivered but not reported: no soak yet, still waiting for the new package', () => {
    expect(evaluate(rollout(FW), [offered('A')], { A: fwObs({ lastSeenAt: at(50) }) }, at(4000)).members).toEqual([]);
  });

  it('a call after the restart within the soak fails it; a quiet soak confirms it with nothing due', () => {
    const failing = evaluate(rollout(FW), [offered('A', { soakFrom: at(80) })], { A: fwObs({ pkg: '2.0.0', lastSeenAt: at(530), reportedAt: at(80) }) }, at(540));
    expect(failing.members).toEqual([expect.objectContaining({ state: 'failed', reason: expect.stringMatching(/^back at CUPS 7\.5 min after it reported package 2\.0\.0: its LNS connection is failing/) })]);
    const quiet = evaluate(rollout(FW), [offered('A', { soakFrom: at(80) })], { A: fwObs({ pkg: '2.0.0', lastSeenAt: at(80), reportedAt: at(80) }) }, at(1880));
    expect(quiet.members).toEqual([expect.objectContaining({ state: 'confirmed' })]);
    expect(quiet.members[0]?.reportDue).toBeUndefined();
  });
});

describe('which rollouts soak', () => {
  it('30 min by default for TC URI, TC credential and firmware; none, and refused, where the station calls again at once', () => {
    expect(defaultHealthSoakMs(TC)).toBe(SOAK);
    expect(defaultHealthSoakMs(FW)).toBe(SOAK);
    expect(defaultHealthSoakMs({ kind: 'credentials', categories: ['tc'] })).toBe(SOAK);
    expect(defaultHealthSoakMs({ kind: 'cupsUri', uri: 'https://c:443' })).toBe(0);
    expect(soakRefusal({ kind: 'credentials', categories: ['cups', 'tc'] })).toMatch(/call CUPS again at once/);
  });

  it('the ETA says when a change reaches a healthy station: its next regular check, then the soak', () => {
    const p = rolloutProgress({ ...rollout(TC), wave: 1 }, [offered('A')], at(0), 86_400_000);
    expect(p.etaNote).toBe('a change reaches a healthy station at its next regular check, up to 24 h after it was offered, then soaks 30 min before it counts as confirmed; a station whose LNS connection fails calls CUPS within minutes and fails its soak');
    expect(p.eta).toEqual(at(86_400 + 1800));
  });
});
