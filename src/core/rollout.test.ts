import { describe, expect, it } from 'vitest';
import { CupsError } from './errors.js';
import { evaluateRollout, type StationObservation } from './rollout-gate.js';
import { rolloutProgress } from './rollout-progress.js';
import { failuresAllowed, parseAmount, parseThreshold, parseWaves, waveOf, waveSizes, type Rollout, type RolloutMember } from './rollout.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

describe('wave plans', () => {
  it.each([
    ['1,5%,25%,100%', 5000, [1, 250, 1250, 5000]],
    ['1,10%,50%,100%', 50, [1, 5, 25, 50]],
    ['1,5%,25%,100%', 10, [1, 3, 10]],
    ['1,1%,100%', 50, [1, 50]],
    ['100%', 7, [7]],
    ['3,100%', 2, [2]],
    ['1,100%', 0, []],
  ])('%s of %i stations → cumulative %j', (text, total, sizes) => {
    expect(waveSizes(parseWaves(text), total)).toEqual(sizes);
  });

  it.each([['1,5%'], ['1,,100%'], ['x,100%'], ['150%'], ['']])('refuses %j', (text) => {
    expect(() => parseWaves(text)).toThrow(CupsError);
  });

  it.each([
    [0, [1, 5, 25], 1],
    [1, [1, 5, 25], 2],
    [4, [1, 5, 25], 2],
    [5, [1, 5, 25], 3],
  ])('station %i of sizes %j is in wave %i', (index, sizes, wave) => {
    expect(waveOf(index, sizes)).toBe(wave);
  });

  it.each([
    ['2', 100, 2],
    ['2%', 100, 2],
    ['2%', 50, 1],
    ['2%', 49, 0],
    ['10%', 50, 5],
  ])('failure budget %s of %i allows %i', (text, total, allowed) => {
    expect(failuresAllowed(parseAmount(text, 'budget'), total)).toBe(allowed);
  });

  it.each([['95%', 0.95], ['1', 1], ['0.5', 0.5]])('threshold %s = %d', (text, v) => expect(parseThreshold(text)).toBe(v));
});

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    id: 'r1', name: null, change: { kind: 'firmware', package: '2.0.0', allowDowngrade: false, maxOffers: 3 }, selector: { labels: [] },
    plan: { waves: parseWaves('1,50%,100%'), successThreshold: 1, failureBudget: { count: 0 }, deadlineMs: 60_000, soakMs: 0, includeNew: false },
    waveSizes: [1, 2, 4], state: 'running', wave: 0, waveStartedAt: null, wavePassedAt: null, haltReason: null, rollbackOf: null,
    createdBy: 't', createdByIdentity: null, approval: null, createdAt: T0, updatedAt: T0, version: 1, ...over,
  };
}

const member = (eui: string, wave: number, over: Partial<RolloutMember> = {}): RolloutMember =>
  ({ eui, wave, state: 'pending', reason: null, previous: null, offeredAt: null, deadlineAt: null, doneAt: null, ...over });

function obs(over: Partial<StationObservation> & { model?: string; pkg?: string | null } = {}): StationObservation {
  const { model = 'linux', pkg = '1.0.0', ...rest } = over;
  return {
    exists: true, desired: { tcUri: null, cupsUri: null },
    reported: { model, package: pkg, tcUri: 'ws://old:1', cupsUri: null }, lastSeenAt: at(0), firmware: null,
    credentials: { desired: { cups: 1, tc: 2 }, reported: { cups: 1, tc: 2 }, rotations: {} }, ...rest,
  };
}

const four = [member('A', 1), member('B', 2), member('C', 3), member('D', 3)];
const fresh = new Map(four.map((m) => [m.eui, obs()]));

describe('rollout gate', () => {
  it('starts wave 1 and offers its station only', () => {
    const step = evaluateRollout({ rollout: rollout(), members: four, observations: fresh, models: [], joiners: [], now: at(1) });
    expect(step.rollout).toMatchObject({ wave: 1, waveStartedAt: at(1) });
    expect(step.members.map((m) => [m.eui, m.state])).toEqual([['A', 'offered']]);
    expect(step.members[0]?.offer?.deadlineAt).toEqual(at(61));
    expect(step.events.map((e) => e.type)).toEqual(['wave_started', 'offered']);
  });

  it.each([
    ['confirmed by the reported package', obs({ pkg: '2.0.0' }), at(5), 'confirmed', /reports package 2.0.0/],
    ['failed when the target reached failed', obs({ firmware: { package: '2.0.0', state: 'failed', offers: 3, lastOfferedAt: at(3), lastError: null } }), at(5), 'failed', /no new package after 3/],
    ['lost after the deadline without a poll', obs({ lastSeenAt: at(0), firmware: { package: '2.0.0', state: 'offered', offers: 1, lastOfferedAt: at(0), lastError: null } }), at(62), 'failed', /lost after offer/],
    ['not confirmed though polling', obs({ lastSeenAt: at(50), firmware: { package: '2.0.0', state: 'offered', offers: 1, lastOfferedAt: at(2), lastError: null } }), at(62), 'failed', /not confirmed within the deadline/],
    ['still waiting before the deadline', obs({ firmware: { package: '2.0.0', state: 'offered', offers: 1, lastOfferedAt: at(2), lastError: null } }), at(30), undefined, undefined],
    ['failed when someone replaced the target', obs({ firmware: { package: '9.9.9', state: 'pending', offers: 0, lastOfferedAt: null, lastError: null } }), at(5), 'failed', /outside the rollout/],
  ])('an offered station is %s', (_, o, now, state, reason) => {
    const members = [member('A', 1, { state: 'offered', offeredAt: at(1), deadlineAt: at(61) }), ...four.slice(1)];
    const r = rollout({ wave: 1, waveStartedAt: at(1), failureBudget: undefined } as Partial<Rollout>);
    const step = evaluateRollout({ rollout: r, members, observations: new Map([...fresh, ['A', o]]), models: [], joiners: [], now });
    const a = step.members.find((m) => m.eui === 'A');
    expect(a?.state).toBe(state);
    if (reason !== undefined) expect(a?.reason).toMatch(reason);
  });

  it('--pause-after-wave pauses when a wave passes, and a resumed one starts the next without judging it again', () => {
    const members = [member('A', 1, { state: 'confirmed', offeredAt: at(1) }), ...four.slice(1)];
    const r = rollout({ wave: 1, plan: { ...rollout().plan, pauseAfterWave: true } });
    const passed = evaluateRollout({ rollout: r, members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(passed.rollout).toEqual({ wavePassedAt: at(10), state: 'paused' });
    expect(passed.members).toEqual([]);
    expect(passed.events.map((e) => e.type)).toEqual(['wave_passed', 'paused']);
    const resumed = evaluateRollout({ rollout: { ...r, wavePassedAt: at(10) }, members, observations: fresh, models: [], joiners: [], now: at(20) });
    expect(resumed.rollout.wave).toBe(2);
    expect(resumed.members.map((m) => [m.eui, m.state])).toEqual([['B', 'offered']]);
  });

  it.each([
    // [offers in the last minute, offers made now]
    [[], 2],
    [[at(-30)], 1],
    [[at(-30), at(-10)], 0],
    [[at(-61), at(-60)], 2],
  ])('--max-offers-per-minute 2 with recent offers at %j offers %i now', (recent, made) => {
    const done = recent.map((t, i) => member(`Z${i}`, 1, { state: 'confirmed', offeredAt: t }));
    const pending = [member('P1', 1), member('P2', 1), member('P3', 1)];
    const r = rollout({ wave: 1, waveSizes: [10], plan: { ...rollout().plan, maxOffersPerMinute: 2 } });
    const step = evaluateRollout({ rollout: r, members: [...done, ...pending], observations: new Map(pending.map((m) => [m.eui, obs()])), models: [], joiners: [], now: at(0) });
    expect(step.members.filter((m) => m.state === 'offered')).toHaveLength(made);
  });

  it('a retried member offered again keeps what it had before the first offer', () => {
    const previous = { tcUri: 'ws://first:1', cupsUri: null, package: '0.9.0' };
    const step = evaluateRollout({ rollout: rollout({ wave: 1 }), members: [member('A', 1, { previous })], observations: new Map([['A', obs()]]), models: [], joiners: [], now: at(1) });
    expect(step.members[0]?.offer?.previous).toEqual(previous);
  });

  it('a passed wave starts the next one in the same step, soak permitting', () => {
    const members = [member('A', 1, { state: 'confirmed', offeredAt: at(1) }), ...four.slice(1)];
    const noSoak = evaluateRollout({ rollout: rollout({ wave: 1 }), members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(noSoak.rollout.wave).toBe(2);
    expect(noSoak.members.map((m) => m.eui)).toEqual(['B']);
    const soaking = rollout({ wave: 1, plan: { ...rollout().plan, soakMs: 30_000 } });
    const first = evaluateRollout({ rollout: soaking, members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(first.rollout).toEqual({ wavePassedAt: at(10) });
    const later = evaluateRollout({ rollout: { ...soaking, wavePassedAt: at(10) }, members, observations: fresh, models: [], joiners: [], now: at(39) });
    expect(later.members).toEqual([]);
    const after = evaluateRollout({ rollout: { ...soaking, wavePassedAt: at(10) }, members, observations: fresh, models: [], joiners: [], now: at(40) });
    expect(after.rollout.wave).toBe(2);
  });

  it.each([
    ['budget 0 and one failure halts at once', { count: 0 }, 1, /failure budget exceeded: 1 failed, 0 allowed/],
    ['50% of 4 allows 2', { percent: 50 }, 3, /3 failed, 2 allowed/],
  ])('%s', (_, failureBudget, failures, reason) => {
    const members = four.map((m, i) => (i < failures ? { ...m, state: 'failed' as const } : m));
    const r = rollout({ wave: 3, plan: { ...rollout().plan, failureBudget } });
    const step = evaluateRollout({ rollout: r, members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(step.rollout.state).toBe('halted');
    expect(step.rollout.haltReason).toMatch(reason);
    expect(step.members.filter((m) => m.state === 'offered')).toEqual([]);
  });

  it('a wave below its threshold halts within budget', () => {
    const members = [member('A', 1, { state: 'failed', offeredAt: at(1) }), ...four.slice(1)];
    const r = rollout({ wave: 1, plan: { ...rollout().plan, failureBudget: { count: 5 } } });
    const step = evaluateRollout({ rollout: r, members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(step.rollout.haltReason).toMatch(/wave 1: 0 of 1 confirmed \(0%\), below the success threshold of 100%/);
    // Once let pass (an operator resumed the halted rollout), the wave is not judged again.
    const resumed = evaluateRollout({ rollout: { ...r, wavePassedAt: at(9) }, members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(resumed.rollout).toMatchObject({ wave: 2 });
    expect(resumed.rollout.state).toBeUndefined();
  });

  it.each([
    ['a model the package is not built for', obs({ model: 'corecell' }), ['linux'], 'skipped', /model "corecell"/],
    ['a station with no report yet when models are declared', obs({ reported: null }), ['linux'], 'skipped', /not reported its model/],
    ['a station never seen (no models declared)', obs({ reported: null, lastSeenAt: null }), [], 'skipped', /^never seen/],
    ['a station never seen (models declared)', obs({ reported: null, lastSeenAt: null }), ['linux'], 'skipped', /^never seen/],
    ['a downgrade', obs({ pkg: '3.0.0' }), [], 'skipped', /--allow-downgrade/],
    ['a station already on the package', obs({ pkg: '2.0.0' }), [], 'confirmed', /already/],
    ['a matching model', obs({ model: 'linux' }), ['linux', 'rpi'], 'offered', null],
  ])('%s', (_, o, models, state, reason) => {
    const step = evaluateRollout({ rollout: rollout(), members: four, observations: new Map([...fresh, ['A', o]]), models, joiners: [], now: at(1) });
    const a = step.members.find((m) => m.eui === 'A');
    expect(a?.state).toBe(state);
    if (reason === null) expect(a?.reason).toBeNull();
    else expect(a?.reason).toMatch(reason);
  });

  it.each([
    ['skipped (a model the package is not built for)', obs({ model: 'corecell' }), 'skipped'],
    ['already on the package', obs({ pkg: '2.0.0' }), 'confirmed'],
  ] as const)('a canary %s fills no slot: the next station becomes the canary and wave 2 waits for its confirmation', (_, canary, state) => {
    const step = evaluateRollout({ rollout: rollout(), members: four, observations: new Map([...fresh, ['A', canary]]), models: ['linux'], joiners: [], now: at(1) });
    expect(step.rollout).toMatchObject({ wave: 1 });
    expect(step.members.map((m) => [m.eui, m.wave, m.state])).toEqual([['A', 1, state], ['B', 1, 'offered']]);
    expect(step.events.filter((e) => e.type === 'wave_passed' || e.type === 'wave_started').map((e) => e.wave)).toEqual([1]);
    // B confirms: wave 1 passes on that one real confirmation and wave 2 (its two slots: C and D) starts.
    const members = [{ ...four[0] as RolloutMember, state }, member('B', 1, { state: 'confirmed', offeredAt: at(1) }), member('C', 3), member('D', 3)];
    const next = evaluateRollout({ rollout: rollout({ wave: 1 }), members, observations: fresh, models: ['linux'], joiners: [], now: at(10) });
    expect(next.rollout.wave).toBe(2);
    expect(next.members.map((m) => [m.eui, m.wave, m.state])).toEqual([['C', 2, 'offered']]);
  });

  it('a wave whose stations are all skipped or done, with nothing left to offer, completes the rollout without passing a gate', () => {
    const members = [member('A', 1, { state: 'confirmed', offeredAt: at(1) }), member('B', 2), member('C', 3), member('D', 3)];
    const observations = new Map([...fresh, ['B', obs({ pkg: '2.0.0' })], ['C', obs({ model: 'rpi' })], ['D', obs({ pkg: '3.0.0' })]]);
    const step = evaluateRollout({ rollout: rollout({ wave: 1 }), members, observations, models: ['linux'], joiners: [], now: at(10) });
    expect(step.members.map((m) => [m.eui, m.wave, m.state])).toEqual([['B', 2, 'confirmed'], ['C', 2, 'skipped'], ['D', 2, 'skipped']]);
    expect(step.rollout.state).toBe('completed');
    expect(step.events.filter((e) => e.type === 'wave_passed').map((e) => e.wave)).toEqual([1]);
    expect(step.events.at(-1)?.message).toMatch(/^completed \(wave 2 had no station left to offer\)/);
  });

  it('a never-seen canary is skipped, not offered: it spends no failure budget and the next station is the canary', () => {
    const never = obs({ reported: null, lastSeenAt: null });
    const step = evaluateRollout({ rollout: rollout(), members: four, observations: new Map([...fresh, ['A', never]]), models: [], joiners: [], now: at(1) });
    expect(step.members.map((m) => [m.eui, m.wave, m.state])).toEqual([['A', 1, 'skipped'], ['B', 1, 'offered']]);
    expect(step.rollout.state).toBeUndefined();
  });

  it('joiners enter the current wave and are offered; paused rollouts offer nothing', () => {
    const members = [member('A', 1, { state: 'confirmed' }), member('B', 2, { state: 'offered', deadlineAt: at(99) }), ...four.slice(2)];
    const r = rollout({ wave: 2, plan: { ...rollout().plan, includeNew: true } });
    const offeredB = obs({ firmware: { package: '2.0.0', state: 'offered', offers: 1, lastOfferedAt: at(5), lastError: null } });
    const obsWithE = new Map([...fresh, ['B', offeredB], ['E', obs()]]);
    const step = evaluateRollout({ rollout: r, members, observations: obsWithE, models: [], joiners: ['E'], now: at(10) });
    expect(step.members.filter((m) => m.eui === 'E').map((m) => m.state)).toEqual(['pending', 'offered']);
    expect(step.members[0]).toMatchObject({ eui: 'E', wave: 2, joined: true });
    const paused = evaluateRollout({ rollout: { ...r, state: 'paused' }, members, observations: obsWithE, models: [], joiners: ['E'], now: at(10) });
    expect(paused.members).toEqual([]);
  });

  it('completes after the last wave and then does nothing', () => {
    const members = four.map((m) => ({ ...m, state: 'confirmed' as const }));
    const step = evaluateRollout({ rollout: rollout({ wave: 3 }), members, observations: fresh, models: [], joiners: [], now: at(10) });
    expect(step.rollout.state).toBe('completed');
    expect(evaluateRollout({ rollout: rollout({ wave: 3, state: 'completed' }), members, observations: fresh, models: [], joiners: [], now: at(10) }).events).toEqual([]);
  });
});

describe('credential rotation gate', () => {
  const rotation = rollout({ change: { kind: 'credentials', categories: ['cups', 'tc'] }, wave: 1, waveSizes: [1] });
  const offered = member('A', 1, { state: 'offered', offeredAt: at(0), deadlineAt: at(60), previous: { tcUri: null, cupsUri: null, package: '1.0.0', rotatedTo: { cups: 10, tc: 20 } } });
  const creds = (reported: { cups: number; tc: number }, rotations: { cups?: number; tc?: number } = {}, desired = { cups: 10, tc: 20 }) =>
    obs({ credentials: { desired, reported, rotations }, lastSeenAt: at(5) });
  const judge = (o: StationObservation, now = at(10)) => evaluateRollout({ rollout: rotation, members: [offered], observations: new Map([['A', o]]), models: [], joiners: [], now }).members[0];

  it.each([
    ['both reported, both rotations complete', creds({ cups: 10, tc: 20 }), { state: 'confirmed', reason: 'uses the new credential (cups crc 10, tc crc 20)' }],
    ['CUPS CRC reported but not yet authenticated with it (rotation pending)', creds({ cups: 10, tc: 20 }, { cups: 10 }), undefined],
    ['TC not applied yet', creds({ cups: 10, tc: 2 }), undefined],
    ['desired TC replaced by someone else', creds({ cups: 10, tc: 2 }, {}, { cups: 10, tc: 21 }), { state: 'failed', reason: 'desired tc credential changed outside the rollout' }],
  ])('%s', (_what, o, expected) => {
    const change = judge(o);
    if (expected === undefined) expect(change).toBeUndefined();
    else expect(change).toMatchObject(expected);
  });

  it('past the deadline: lost when not seen since the offer, else not confirmed with what it reports', () => {
    expect(judge({ ...creds({ cups: 1, tc: 2 }), lastSeenAt: null }, at(61))).toMatchObject({ state: 'failed', reason: 'lost after offer: not seen since ever' });
    expect(judge(creds({ cups: 10, tc: 2 }), at(61))).toMatchObject({ state: 'failed', reason: 'not confirmed within the deadline: still reports cups credential crc 10, tc credential crc 2' });
  });

  it('offers carry the CRCs the engine issued; a station it could not prepare is skipped with the reason', () => {
    const pending = [member('A', 1), member('B', 1)];
    const two = rollout({ change: { kind: 'credentials', categories: ['cups'] }, waveSizes: [2] });
    const prepared = new Map([['A', { crcs: { cups: 7 } }], ['B', { refused: 'nothing to rotate' }]]);
    const step = evaluateRollout({ rollout: two, members: pending, observations: new Map([['A', obs()], ['B', obs()]]), models: [], joiners: [], prepared, now: at(1) });
    expect(step.members.map((m) => [m.eui, m.state, m.reason, m.offer?.previous.rotatedTo])).toEqual([
      ['A', 'offered', null, { cups: 7 }],
      ['B', 'skipped', 'nothing to rotate', undefined],
    ]);
  });

  it('a TC rotation offer records the TC credential the station holds; offered again (a retry), what it holds then', () => {
    const tc = rollout({ change: { kind: 'credentials', categories: ['tc'] }, waveSizes: [1] });
    const held = (blob: string, crc: number) => ({ ...obs(), credentials: { ...obs().credentials, tcCred: { blob, crc, size: 900 } } });
    const offer = (m: ReturnType<typeof member>, o: ReturnType<typeof obs>) =>
      evaluateRollout({ rollout: tc, members: [m], observations: new Map([['A', o]]), models: [], joiners: [], prepared: new Map([['A', { crcs: { tc: 30 } }]]), now: at(1) }).members[0]?.offer?.previous;
    expect(offer(member('A', 1), held('A-tc-x', 2))).toMatchObject({ rotatedTo: { tc: 30 }, tcCred: { blob: 'A-tc-x', crc: 2 } });
    // A retried member keeps what it had before the first offer (what a rollback restores) but gives back what it holds now.
    const retried = member('A', 1, { previous: { tcUri: 'ws://first:1', cupsUri: null, package: '1.0.0', rotatedTo: { tc: 20 }, tcCred: { blob: 'A-tc-x', crc: 2, size: 900 } } });
    expect(offer(retried, held('A-tc-y', 5))).toMatchObject({ tcUri: 'ws://first:1', rotatedTo: { tc: 30 }, tcCred: { blob: 'A-tc-y', crc: 5 } });
  });
});

describe('rollout progress', () => {
  it('counts per wave, the gate and an ETA from the pace so far', () => {
    const members = [member('A', 1, { state: 'confirmed' }), member('B', 2, { state: 'offered' }), member('C', 3), member('D', 3, { state: 'skipped' })];
    const p = rolloutProgress(rollout({ wave: 2, waveStartedAt: at(100) }), members, at(150));
    expect(p.waves.map((w) => [w.wave, w.stations, w.confirmed, w.offered, w.pending, w.skipped])).toEqual([[1, 1, 1, 0, 0, 0], [2, 1, 0, 1, 0, 0], [3, 2, 0, 0, 1, 1]]);
    expect(p.gate).toBe('wave 2 of 3: waiting for 1 station(s) to confirm (threshold 100%)');
    // one wave took 100 s: two left
    expect(p.eta).toEqual(at(350));
    expect(rolloutProgress(rollout({ state: 'halted', haltReason: 'x' }), members, at(1)).gate).toBe('halted: x');
  });
});
