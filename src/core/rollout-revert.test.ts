import { describe, expect, it } from 'vitest';
import { evaluateRollout, type StationObservation } from './rollout-gate.js';
import { parseWaves, type Rollout, type RolloutChange, type RolloutMember } from './rollout.js';
import type { RevertPackage, TcCredentialRow } from './rollout-revert.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const OLD = 'ws://old:1';
const BAD = 'ws://typo:6887';

function rollout(change: RolloutChange, over: Partial<Rollout['plan']> = {}): Rollout {
  return {
    id: 'r1', name: null, change, selector: { labels: [] },
    plan: { waves: parseWaves('100%'), successThreshold: 0, failureBudget: { count: 5 }, deadlineMs: 60_000, soakMs: 0, includeNew: false, revertUnhealthy: true, ...over },
    waveSizes: [2], state: 'running', wave: 1, waveStartedAt: T0, wavePassedAt: null, haltReason: null, rollbackOf: null,
    createdBy: 't', createdByIdentity: null, approval: null, createdAt: T0, updatedAt: T0, version: 3,
  };
}

const offered = (eui: string, previous: RolloutMember['previous']): RolloutMember =>
  ({ eui, wave: 1, state: 'offered', reason: null, previous, offeredAt: at(0), deadlineAt: at(60), doneAt: null });

/** A station that did not take the new TC URI within the deadline (reports the old one), by default. */
function obs(over: Partial<StationObservation> & { pkg?: string; tc?: string | null } = {}): StationObservation {
  const { pkg = '1.0.0', tc = OLD, ...rest } = over;
  return {
    exists: true, desired: { tcUri: BAD, cupsUri: null },
    reported: { model: 'linux', package: pkg, tcUri: tc, cupsUri: null }, keys: [111], lastSeenAt: at(30), firmware: null,
    credentials: { desired: { cups: 1, tc: 2 }, reported: { cups: 1, tc: 2 }, rotations: {} }, ...rest,
  };
}

const tcChange: RolloutChange = { kind: 'tcUri', uri: BAD };
const fwChange: RolloutChange = { kind: 'firmware', package: '2.0.0', allowDowngrade: false, maxOffers: 3 };
const prevTc = { tcUri: OLD, cupsUri: null, package: '1.0.0', reportedTcUri: OLD };

describe('automatic revert of a failed member', () => {
  it('a TC URI member failing at its deadline gets its old TC URI back in the same step; reverted once it reports it', () => {
    const r = rollout(tcChange);
    const step = evaluateRollout({ rollout: r, members: [offered('A', prevTc)], observations: new Map([['A', obs()]]), models: [], joiners: [], now: at(61) });
    const a = step.members.find((m) => m.eui === 'A');
    expect(a).toMatchObject({ state: 'failed', revert: { state: 'reverting', offer: { tcUri: OLD } } });
    expect(step.events.map((e) => e.type)).toContain('reverting');
    // Next evaluation: the station has not called yet, then it reports the old URI.
    const failed: RolloutMember = { ...offered('A', prevTc), state: 'failed', reason: a?.reason ?? null, revert: { state: 'reverting', reason: 'x', at: at(61), doneAt: null } };
    const waiting = evaluateRollout({ rollout: r, members: [failed], observations: new Map([['A', obs({ tc: BAD, desired: { tcUri: OLD, cupsUri: null } })]]), models: [], joiners: [], now: at(62) });
    expect(waiting.members.filter((m) => m.revertOnly === true)).toEqual([]);
    const back = evaluateRollout({ rollout: r, members: [failed], observations: new Map([['A', obs({ desired: { tcUri: OLD, cupsUri: null } })]]), models: [], joiners: [], now: at(70) });
    expect(back.members).toEqual([expect.objectContaining({ eui: 'A', state: 'failed', revertOnly: true, revert: expect.objectContaining({ state: 'reverted', doneAt: at(70) }) })]);
    expect(back.events.map((e) => e.type)).toContain('reverted');
    // One that never calls back is not waited for past the rollout's deadline, even once it ended.
    const gone = evaluateRollout({ rollout: { ...r, state: 'completed' }, members: [failed], observations: new Map([['A', obs({ tc: BAD, lastSeenAt: at(30), desired: { tcUri: OLD, cupsUri: null } })]]), models: [], joiners: [], now: at(61 + 60) });
    expect(gone.members).toEqual([expect.objectContaining({ eui: 'A', revertOnly: true, revert: expect.objectContaining({ state: 'refused', reason: `not back on what it had within the deadline: still reports TC URI ${BAD}, not seen since` }) })]);
  });

  it('without --revert-unhealthy a failed member is left as it is', () => {
    const step = evaluateRollout({ rollout: rollout(tcChange, { revertUnhealthy: false }), members: [offered('A', prevTc)], observations: new Map([['A', obs()]]), models: [], joiners: [], now: at(61) });
    expect(step.members.find((m) => m.eui === 'A')).toMatchObject({ state: 'failed' });
    expect(step.members.find((m) => m.eui === 'A')?.revert).toBeUndefined();
  });

  it('a TC URI changed outside the rollout is not touched', () => {
    const step = evaluateRollout({ rollout: rollout(tcChange), members: [offered('A', prevTc)], observations: new Map([['A', obs({ desired: { tcUri: 'ws://op:2', cupsUri: null } })]]), models: [], joiners: [], now: at(61) });
    expect(step.members.find((m) => m.eui === 'A')).toMatchObject({ state: 'failed' });
    expect(step.members.find((m) => m.eui === 'A')?.revert).toBeUndefined();
  });

  it('a station with no TC URI before cannot be reverted: the rollout halts and says why', () => {
    const step = evaluateRollout({ rollout: rollout(tcChange), members: [offered('A', { tcUri: null, cupsUri: null, package: null, reportedTcUri: null })], observations: new Map([['A', obs()]]), models: [], joiners: [], now: at(61) });
    expect(step.members.find((m) => m.eui === 'A')?.revert).toMatchObject({ state: 'refused' });
    expect(step.rollout).toMatchObject({ state: 'halted', haltReason: expect.stringMatching(/^station A failed and cannot be reverted: the station had no other TC URI/) });
  });

  const pkg = (keyCrcs: number[], models: string[] = []): RevertPackage => ({ package: '1.0.0', keyCrcs, models });
  const fwFailed = (over: Partial<StationObservation> = {}) => obs({ pkg: '2.0.0-broken', desired: { tcUri: null, cupsUri: null }, firmware: { package: '2.0.0', state: 'offered', offers: 1, lastOfferedAt: at(1), lastError: null }, ...over });

  it('firmware: the previous package, in the library and signed for the station\'s key, is offered back', () => {
    const step = evaluateRollout({ rollout: rollout(fwChange), members: [offered('A', prevTc)], observations: new Map([['A', fwFailed()]]), models: [], joiners: [], revertPackages: new Map([['1.0.0', pkg([111])]]), now: at(61) });
    expect(step.members.find((m) => m.eui === 'A')).toMatchObject({ state: 'failed', revert: { state: 'reverting', offer: { package: '1.0.0' } } });
    expect(step.rollout.state).not.toBe('halted');
  });

  it.each([
    ['not in the library', new Map<string, RevertPackage | null>([['1.0.0', null]]), /previous package 1\.0\.0 is not in the firmware library/],
    ['signed for another key', new Map([['1.0.0', pkg([222])]]), /signed for key CRC 222, and the station holds \[111\]/],
    ['built for another model', new Map([['1.0.0', pkg([111], ['corecell'])]]), /built for corecell, not for model "linux"/],
  ])('firmware: previous package %s → fails and halts with the reason', (_what, packages, reason) => {
    const step = evaluateRollout({ rollout: rollout(fwChange), members: [offered('A', prevTc), offered('B', prevTc)], observations: new Map([['A', fwFailed()], ['B', obs({ pkg: '1.0.0', desired: { tcUri: null, cupsUri: null }, firmware: { package: '2.0.0', state: 'pending', offers: 0, lastOfferedAt: null, lastError: null } })]]), models: [], joiners: [], revertPackages: packages, now: at(61) });
    expect(step.members.find((m) => m.eui === 'A')?.revert).toMatchObject({ state: 'refused', reason: expect.stringMatching(reason) });
    expect(step.rollout.state).toBe('halted');
    expect(step.rollout.haltReason).toMatch(reason);
    expect(step.events.map((e) => e.type)).toEqual(expect.arrayContaining(['failed', 'revert_refused', 'halted']));
  });

  it('firmware: a station still on its previous package has nothing to give back', () => {
    const step = evaluateRollout({ rollout: rollout(fwChange), members: [offered('A', prevTc)], observations: new Map([['A', fwFailed({ reported: { model: 'linux', package: '1.0.0', tcUri: null, cupsUri: null }, firmware: { package: '2.0.0', state: 'failed', offers: 3, lastOfferedAt: at(1), lastError: 'exit 1' } })]]), models: [], joiners: [], now: at(61) });
    expect(step.members.find((m) => m.eui === 'A')).toMatchObject({ state: 'failed', revert: { state: 'reverted' } });
    expect(step.members.find((m) => m.eui === 'A')?.revert?.offer).toBeUndefined();
  });
});

describe('automatic revert of a TC credential rotation', () => {
  const ROT: RolloutChange = { kind: 'credentials', categories: ['tc'] };
  const OLD_CRED = { blob: 'A-tc-old', crc: 2, size: 900 };
  const prev = { tcUri: OLD, cupsUri: null, package: '1.0.0', rotatedTo: { tc: 9 }, tcCred: OLD_CRED };
  /** Took the issued credential (crc 9), its rotation completed; failed at the deadline here by a desired change it never made. */
  const took = (over: Partial<StationObservation['credentials']> = {}) => obs({ credentials: { desired: { cups: 1, tc: 9 }, reported: { cups: 1, tc: 9 }, rotations: {}, ...over } });

  it('a failed member gets the TC credential it had back in the same step, reverted once it reports its CRC again', () => {
    const failing = { ...offered('A', prev), soakFrom: at(10) };
    const back = obs({ lastSeenAt: at(20), health: { earlyRun: 1, runFrom: at(10) }, credentials: { desired: { cups: 1, tc: 9 }, reported: { cups: 1, tc: 9 }, rotations: {} } });
    const step = evaluateRollout({ rollout: rollout(ROT, { healthSoakMs: 30_000 }), members: [failing], observations: new Map([['A', back]]), models: [], joiners: [], now: at(21) });
    expect(step.members[0]).toMatchObject({ state: 'failed', revert: { state: 'reverting', reason: "TC credential set back to crc 2, delivered at the station's next exchange", offer: { tcCred: OLD_CRED, from: 9 } } });
    const failed: RolloutMember = { ...failing, state: 'failed', reason: 'back', revert: { state: 'reverting', reason: 'x', at: at(21), doneAt: null } };
    const judge = (o: StationObservation, now = at(40)) => evaluateRollout({ rollout: rollout(ROT), members: [failed], observations: new Map([['A', o]]), models: [], joiners: [], now }).members[0]?.revert;
    expect(judge(took({ desired: { cups: 1, tc: 2 } }))).toBeUndefined();
    expect(judge(took({ desired: { cups: 1, tc: 2 }, reported: { cups: 1, tc: 2 } }))).toMatchObject({ state: 'reverted', reason: 'reports TC credential crc 2 again' });
    expect(judge(took({ desired: { cups: 1, tc: 5 } }))).toMatchObject({ state: 'refused', reason: 'desired TC credential changed while it was set back (now crc 5): left as it is' });
    expect(judge(took({ desired: { cups: 1, tc: 2 } }), at(100_000))).toMatchObject({ state: 'refused', reason: expect.stringMatching(/^not back on what it had within the deadline: still reports TC credential crc 9/) });
  });

  it('nothing to give back, or no record of it: refused, and the rollout halts; a credential changed outside the rollout is left alone', () => {
    const halts = (previous: RolloutMember['previous'], o = took()) =>
      evaluateRollout({ rollout: rollout(ROT, { failureBudget: { count: 0 } }), members: [offered('A', previous)], observations: new Map([['A', o]]), models: [], joiners: [], now: at(61) });
    const none = halts({ ...prev, tcCred: null }, took({ reported: { cups: 1, tc: 2 }, rotations: { tc: 9 } }));
    expect(none.members[0]?.revert).toMatchObject({ state: 'refused', reason: 'the station had no TC credential before the rotation: there is nothing to give back' });
    expect(none.rollout).toMatchObject({ state: 'halted' });
    const unrecorded = halts({ tcUri: OLD, cupsUri: null, package: '1.0.0', rotatedTo: { tc: 9 } }, took({ reported: { cups: 1, tc: 2 }, rotations: { tc: 9 } }));
    expect(unrecorded.members[0]?.revert).toMatchObject({ state: 'refused', reason: 'what TC credential the station had before was not recorded with its offer' });
    // What it had was revoked, or has expired, since: giving it back would leave the station with nothing that works.
    const rows = (over: Partial<TcCredentialRow>[]) => new Map([['A', over.map((o) => ({ crc: 2, status: 'retired' as const, retiredReason: 'rotated', notAfter: null, ...o }))]]);
    const withRows = (r: Map<string, TcCredentialRow[]>) =>
      evaluateRollout({ rollout: rollout(ROT, { failureBudget: { count: 0 } }), members: [offered('A', prev)], observations: new Map([['A', took({ reported: { cups: 1, tc: 2 }, rotations: { tc: 9 } })]]), models: [], joiners: [], now: at(61), revertTcCredentials: r }).members[0]?.revert;
    expect(withRows(rows([{ status: 'retired', retiredReason: 'revoked' }]))).toMatchObject({ state: 'refused', reason: 'its previous TC credential (crc 2) was retired (revoked), not by the rotation: giving it back would leave the station without a working one' });
    expect(withRows(rows([{ notAfter: at(60) }]))).toMatchObject({ state: 'refused', reason: expect.stringMatching(/^its previous TC credential \(crc 2\) has expired/) });
    expect(withRows(rows([{ notAfter: at(3600) }]))).toMatchObject({ state: 'reverting' });
    expect(withRows(rows([{ status: 'active', retiredReason: null }, { crc: 9, status: 'active', retiredReason: null }]))).toMatchObject({ state: 'reverting' });
    expect(withRows(new Map())).toMatchObject({ state: 'reverting' });
    const outside = halts(prev, took({ desired: { cups: 1, tc: 4 }, reported: { cups: 1, tc: 2 } }));
    expect(outside.members[0]).toMatchObject({ state: 'failed', reason: 'desired tc credential changed outside the rollout' });
    expect(outside.members[0]?.revert).toBeUndefined();
  });
});
