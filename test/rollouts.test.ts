import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceRollouts } from '../src/operations/rollout-engine.js';
import { controlRollout, createRollout, showRollout } from '../src/operations/rollouts.js';
import { changeStation } from '../src/operations/stations.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { createFleet, operationContext, pollRound, until, updateScript, type FleetStation } from './support/rollout-fleet.js';
import { startTestServer, type TestServer } from './support/server.js';

// One server whose rollout engine runs every 100 ms; stations are simulated over
// real sockets; each test has its own stations, selected by a label of its own.
let srv: TestServer;
let work: string;
let ctx: RolloutContext;
let sigKey: Buffer;
let signWith: string;

const state = async (id: string) => (await showRollout(ctx, id));
const engine = () => advanceRollouts({ rollouts: srv.runtime.rollouts, fleet: srv.runtime.fleet, clock: () => new Date() }, (id, e) => { throw new Error(`rollout ${id}: ${String(e)}`); });

async function fleet(prefix: string, count: number, group: string, extra: Partial<Parameters<typeof createFleet>[1]> = {}): Promise<FleetStation[]> {
  const stations = await createFleet(ctx, { url: srv.url, dir: work, count, prefix, labels: { group }, sigKey, ...extra });
  await pollRound(stations); // the server learns model and package
  return stations;
}

beforeAll(async () => {
  srv = await startTestServer({ config: { rolloutInterval: 0.1 } });
  ctx = operationContext(srv.runtime);
  work = await mkdtemp(join(tmpdir(), 'bscups-rollouts-'));
  await bscupsJson(['keys', 'generate', '--out', join(work, 'keys')]);
  sigKey = await readFile(join(work, 'keys', 'sig-0.key'));
  signWith = join(work, 'keys', 'sig-0.pem');
  await writeFile(join(work, 'update-2.0.0.sh'), updateScript('2.0.0'));
  // The library entry every firmware test uses, uploaded once through the CLI.
  const entry = await bscupsJson<{ package: string; models: string[] }>(['firmware', 'upload', '--package', '2.0.0', '--file', join(work, 'update-2.0.0.sh'), '--sign-with', signWith, '--model', 'linux'], srv.env);
  expect(entry.models).toEqual(['linux']);
}, 60_000);

afterAll(async () => {
  await srv.stop();
  await rm(work, { recursive: true, force: true });
});

describe('fleet rollouts end to end', () => {
  it('a 50-station firmware rollout in waves 1,10%,50%,100% completes, each wave started once', async () => {
    const stations = await fleet('A00000', 50, 'complete');
    const created = await bscupsJson<{ id: string; waves: { stations: number }[] }>(['rollout', 'create', '--firmware', '2.0.0', '--label', 'group=complete', '--waves', '1,10%,50%,100%', '--deadline', '60s', '--health-soak', '0'], srv.env);
    expect(created.waves.map((w) => w.stations)).toEqual([1, 4, 20, 25]);
    const updated = new Set<string>();
    await until('rollout completed', async () => (await state(created.id)).rollout.state === 'completed', async () => {
      for (const [eui, r] of await pollRound(stations)) if (r.update?.ran === true) updated.add(eui);
    }, 100_000);
    const done = await state(created.id);
    expect(done.progress.totals).toMatchObject({ confirmed: 50, failed: 0, pending: 0, offered: 0 });
    expect(done.events.filter((e) => e.type === 'wave_started').map((e) => e.wave)).toEqual([1, 2, 3, 4]);
    expect(updated.size).toBe(50);
    for (const st of stations) expect((await readFile(join(st.home, 'version.txt'), 'utf8')).trim()).toBe('2.0.0');
    // The station history tells the same story.
    const events = await srv.runtime.registry.listEvents(stations[7]!.eui);
    expect(events.filter((e) => e.type === 'rollout').map((e) => e.message)).toEqual([
      `rollout ${created.id}: firmware 2.0.0: confirmed (reports package 2.0.0)`,
      `rollout ${created.id}: firmware 2.0.0: offered`,
    ]);
    const shown = await bscupsInProcess(['rollout', 'show', created.id], srv.env);
    expect(shown.stdout).toMatch(/state\s+completed/);
    expect(shown.stdout).toMatch(/^4\s+25\s+0\s+0\s+0\s+25\s+0\s+0\s+0$/m);
  }, 150_000);

  it('halts by itself at its failure budget and offers nothing more', async () => {
    const stations = await fleet('B00000', 20, 'halt');
    // Waves [1, 10, 20]: stations 2 and 3 (wave 2) run an update that fails.
    await stations[1]!.failUpdates();
    await stations[2]!.failUpdates();
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=halt'], waves: '1,50%,100%', failureBudget: '1', successThreshold: '50%', deadline: '60s', maxOffers: 1 });
    await until('rollout halted', async () => (await state(rollout.id)).rollout.state === 'halted', () => pollRound(stations), 60_000);
    const halted = await state(rollout.id);
    expect(halted.rollout.haltReason).toBe('failure budget exceeded: 2 failed, 1 allowed (1 of 20)');
    expect(halted.progress.gate).toMatch(/^halted: failure budget exceeded/);
    expect(halted.members.filter((m) => m.state === 'failed').map((m) => m.reason)).toEqual([expect.stringMatching(/^update failed/), expect.stringMatching(/^update failed/)]);
    // --json carries what the human output shows: the first failed or skipped stations, and the events with --events.
    const json = await bscupsJson<{ state: string; firstFailedOrSkipped: { eui: string; state: string }[]; moreFailedOrSkipped: boolean; events: { type: string; eui: string | null }[] }>(['rollout', 'show', rollout.id, '--events'], srv.env);
    expect(json.state).toBe('halted');
    expect(json.firstFailedOrSkipped.map((m) => m.state)).toEqual(['failed', 'failed']);
    expect(json.moreFailedOrSkipped).toBe(false);
    expect(json.events.map((e) => e.type)).toEqual(expect.arrayContaining(['created', 'wave_started', 'offered', 'failed', 'halted']));
    // More polls and evaluations: wave 3 is never offered.
    for (let i = 0; i < 3; i++) {
      await pollRound(stations);
      await engine();
    }
    const after = await state(rollout.id);
    expect(after.rollout.state).toBe('halted');
    expect(after.events.filter((e) => e.type === 'wave_started').map((e) => e.wave)).toEqual([1, 2]);
    for (const m of after.members.filter((m) => m.wave === 3)) {
      expect(m.state).toBe('pending');
      expect((await srv.runtime.registry.getStation(m.eui))?.firmware).toBeNull();
    }
    // Resuming does not get past a budget still exceeded.
    await controlRollout(ctx, rollout.id, 'resume');
    await until('halted again', async () => (await state(rollout.id)).rollout.state === 'halted', () => engine());
    expect((await state(rollout.id)).events.filter((e) => e.type === 'wave_started')).toHaveLength(2);
  }, 120_000);

  it('a wave below its success threshold halts; resuming counts the wave as passed and goes on', async () => {
    const stations = await fleet('B10000', 4, 'threshold');
    await stations[0]!.failUpdates();
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=threshold'], waves: '1,100%', failureBudget: '2', deadline: '60s', maxOffers: 1 });
    await until('rollout halted', async () => (await state(rollout.id)).rollout.state === 'halted', () => pollRound(stations));
    expect((await state(rollout.id)).rollout.haltReason).toBe('wave 1: 0 of 1 confirmed (0%), below the success threshold of 100%');
    expect((await state(rollout.id)).progress.waves[1]).toMatchObject({ pending: 3 });
    await controlRollout(ctx, rollout.id, 'resume');
    await until('rollout completed', async () => (await state(rollout.id)).rollout.state === 'completed', () => pollRound(stations));
    expect((await state(rollout.id)).progress.totals).toMatchObject({ confirmed: 3, failed: 1 });
  }, 60_000);

  it('pause stops new offers and takes back the canary\'s offer it had not fetched; resume offers it again and continues to the end', async () => {
    const stations = await fleet('C00000', 10, 'pause');
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=pause'], waves: '1,100%', deadline: '60s' });
    // The canary is offered but has not polled: wave 2 cannot have started yet.
    await until('wave 1 offered', async () => (await state(rollout.id)).progress.waves[0]!.offered === 1, () => engine());
    const canary = (await state(rollout.id)).members.find((m) => m.state === 'offered')!;
    await controlRollout(ctx, rollout.id, 'pause');
    const paused = await state(rollout.id);
    expect(paused.members.find((m) => m.eui === canary.eui)).toMatchObject({ state: 'pending', offeredAt: null, reason: expect.stringMatching(/^offer withdrawn before the station fetched it: the rollout was paused/) });
    expect((await srv.runtime.registry.getStation(canary.eui))?.firmware).toBeNull();
    for (let i = 0; i < 3; i++) {
      for (const r of (await pollRound(stations)).values()) expect(r.update?.ran).not.toBe(true);
      await engine();
    }
    const still = await state(rollout.id);
    expect(still.rollout.state).toBe('paused');
    expect(still.progress.gate).toBe('paused in wave 1 of 2: no new offers, and offers not fetched yet were withdrawn until resumed');
    expect(still.progress.waves[0]).toMatchObject({ stations: 1, pending: 1, offered: 0 });
    expect(still.progress.waves[1]).toMatchObject({ stations: 9, pending: 9, offered: 0 });
    for (const st of stations) expect((await srv.runtime.registry.getStation(st.eui))?.firmware).toBeNull();
    await controlRollout(ctx, rollout.id, 'resume');
    await until('rollout completed', async () => (await state(rollout.id)).rollout.state === 'completed', () => pollRound(stations));
    expect((await state(rollout.id)).progress.totals).toMatchObject({ confirmed: 10, failed: 0 });
    expect((await state(rollout.id)).events.filter((e) => e.eui === undefined || e.eui === null).map((e) => e.type)).toEqual(['created', 'wave_started', 'paused', 'resumed', 'wave_passed', 'wave_started', 'wave_passed', 'completed']);
  }, 120_000);

  it('abort takes back every offer not fetched yet, and the station is never offered the firmware again', async () => {
    const stations = await fleet('D00000', 6, 'abort');
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=abort'], waves: '1,100%', deadline: '60s' });
    await until('wave 2 offered', async () => (await state(rollout.id)).progress.waves[1]!.offered === 5, () => pollRound(stations.slice(0, 1)));
    // One station of wave 2 fetches its offer (and runs it) before the abort; the other four do not.
    const wave2 = (await state(rollout.id)).members.filter((m) => m.wave === 2).map((m) => m.eui);
    const fetcher = stations.find((s) => s.eui === wave2[0])!;
    expect((await fetcher.exchange()).update?.ran).toBe(true);
    const shown = await bscupsInProcess(['--json', 'rollout', 'abort', rollout.id], srv.env);
    expect(shown.code, shown.stderr).toBe(0);
    const aborted = await state(rollout.id);
    expect(aborted.rollout.state).toBe('aborted');
    expect(aborted.progress.gate).toMatch(/^aborted: offers not fetched yet were withdrawn and are never made again/);
    const reverted = aborted.members.filter((m) => m.state === 'reverted');
    expect(reverted.map((m) => m.eui).sort()).toEqual(wave2.slice(1).sort());
    for (const m of reverted) {
      expect(m.reason).toMatch(/^offer withdrawn before the station fetched it: the rollout was aborted/);
      expect((await srv.runtime.registry.getStation(m.eui))?.firmware).toBeNull();
    }
    // What a station fetched stays: the one that ran it reports 2.0.0 at its next call.
    expect((await srv.runtime.registry.getStation(fetcher.eui))?.firmware?.package).toBe('2.0.0');
    expect((await srv.runtime.rollouts.claims(stations.map((s) => s.eui))).size).toBe(0);
    // The gateways call again and again: none of the withdrawn ones is offered the firmware.
    for (let i = 0; i < 3; i++) {
      const results = await pollRound(stations.filter((s) => wave2.slice(1).includes(s.eui)));
      for (const r of results.values()) expect(r.update?.ran).not.toBe(true);
      await engine();
    }
    for (const eui of wave2.slice(1)) expect((await srv.runtime.registry.getStation(eui))?.reported?.package).not.toBe('2.0.0');
    const human = await bscupsInProcess(['rollout', 'show', rollout.id], srv.env);
    expect(human.stdout).toMatch(/gate\s+aborted: offers not fetched yet were withdrawn/);
    expect((await bscupsInProcess(['rollout', 'pause', rollout.id], srv.env)).stderr).toContain('is aborted');
  }, 60_000);

  it('rollback of a TC URI migration returns every station to its old LNS URI, except one whose URI was changed since', async () => {
    const old = 'ws://127.0.0.1:6092';
    const stations = await fleet('E00000', 8, 'lns', { tcUri: old });
    await pollRound(stations);
    const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'wss://127.0.0.1:6887', label: ['group=lns'], waves: '25%,100%', deadline: '60s' });
    await until('migration completed', async () => (await state(rollout.id)).rollout.state === 'completed', () => pollRound(stations));
    for (const st of stations) expect((await readFile(join(st.home, 'tc.uri'), 'utf8')).trim()).toBe('wss://127.0.0.1:6887');
    // Moved on by an operator after the migration: the rollback must not take this back.
    const moved = stations[3]!;
    await changeStation(ctx, moved.eui, { tcUri: 'ws://127.0.0.1:6999' });
    const result = await bscupsJson<{ reverted: number; skipped: { eui: string; reason: string }[] }>(['rollout', 'rollback', rollout.id], srv.env);
    expect(result.reverted).toBe(7);
    expect(result.skipped).toEqual([{ eui: moved.eui, reason: `not rolled back: desired tcUri is now ws://127.0.0.1:6999, no longer the rollout's wss://127.0.0.1:6887` }]);
    await pollRound(stations);
    for (const st of stations) {
      const expected = st === moved ? 'ws://127.0.0.1:6999' : old;
      expect((await readFile(join(st.home, 'tc.uri'), 'utf8')).trim()).toBe(expected);
      expect((await srv.runtime.registry.getStation(st.eui))?.desired.tcUri).toBe(expected);
    }
    const back = await state(rollout.id);
    expect(back.rollout.state).toBe('rolled_back');
    expect(back.progress.totals.reverted).toBe(7);
    expect(back.members.find((m) => m.eui === moved.eui)?.state).toBe('confirmed');
    expect(back.events.filter((e) => e.type === 'skipped').map((e) => e.eui)).toEqual([moved.eui]);
  }, 60_000);

  it('a station whose model the package is not built for is never offered it, and shows why', async () => {
    const stations = await fleet('F00000', 4, 'models', { model: (i) => (i % 2 === 0 ? 'linux' : 'corecell') });
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=models'], waves: '100%', deadline: '60s' });
    const got = new Set<string>();
    await until('rollout completed', async () => (await state(rollout.id)).rollout.state === 'completed', async () => {
      for (const [eui, r] of await pollRound(stations)) if (r.update !== undefined) got.add(eui);
    });
    const done = await state(rollout.id);
    const skipped = done.members.filter((m) => m.state === 'skipped');
    expect(skipped.map((m) => m.eui)).toEqual([stations[1]!.eui, stations[3]!.eui]);
    for (const m of skipped) {
      expect(m.reason).toBe('model "corecell" is not one package 2.0.0 is built for (linux)');
      expect((await srv.runtime.registry.getStation(m.eui))?.firmware).toBeNull();
      expect(got.has(m.eui)).toBe(false);
    }
    expect(got).toEqual(new Set([stations[0]!.eui, stations[2]!.eui]));
    // Targeting one directly is refused for the same reason.
    const direct = await bscupsInProcess(['firmware', 'upgrade', '--station', stations[1]!.eui, '--package', '2.0.0'], srv.env);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toContain('reports model corecell');
  }, 60_000);

  it('a station that goes silent after the offer is counted lost after its deadline', async () => {
    const stations = await fleet('0A0000', 3, 'silent');
    const [silent, ...rest] = stations as [FleetStation, ...FleetStation[]];
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=silent'], waves: '100%', deadline: '2s', successThreshold: '50%', failureBudget: '1' });
    await until('the others confirmed', async () => (await state(rollout.id)).progress.totals.confirmed === 2, () => pollRound(rest));
    await until('the silent one failed', async () => (await state(rollout.id)).progress.totals.failed === 1, () => engine(), 10_000);
    const done = await state(rollout.id);
    const lost = done.members.find((m) => m.eui === silent.eui);
    expect(lost?.reason).toMatch(/^lost after offer: not seen since /);
    expect(done.rollout.state).toBe('completed');
    expect((await srv.runtime.registry.listEvents(silent.eui)).some((e) => e.type === 'rollout' && e.message.includes('lost after offer'))).toBe(true);
  }, 60_000);

  it('with --include-new, a station registered later joins the current wave once it reports', async () => {
    const stations = await fleet('0C0000', 2, 'late');
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=late'], waves: '100%', deadline: '60s', includeNew: true });
    await until('wave 1 offered', async () => (await state(rollout.id)).progress.waves[0]!.offered === 2, () => engine());
    const [late] = await createFleet(ctx, { url: srv.url, dir: work, count: 1, prefix: '0C0001', labels: { group: 'late' }, sigKey });
    await until('the late station joined', async () => (await state(rollout.id)).members.some((m) => m.eui === late!.eui), async () => {
      await late!.exchange(); // its first report: the package declares models, so it joins once its model is known
      await engine();
    });
    await until('rollout completed', async () => (await state(rollout.id)).rollout.state === 'completed', () => pollRound([...stations, late!]));
    const done = await state(rollout.id);
    expect(done.members.find((m) => m.eui === late!.eui)).toMatchObject({ wave: 1, state: 'confirmed' });
    expect(done.events.filter((e) => e.type === 'joined').map((e) => e.eui)).toEqual([late!.eui]);
    expect((await readFile(join(late!.home, 'version.txt'), 'utf8')).trim()).toBe('2.0.0');
  }, 60_000);

  it('rollback of a firmware rollout installs the previous package through a new rollout, with the downgrade flag', async () => {
    const stations = await fleet('0D0000', 3, 'fwback');
    await writeFile(join(work, 'update-1.0.0.sh'), updateScript('1.0.0'));
    await bscupsJson(['firmware', 'upload', '--package', '1.0.0', '--file', join(work, 'update-1.0.0.sh'), '--sign-with', signWith], srv.env);
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=fwback'], waves: '100%', deadline: '60s' });
    await until('upgrade completed', async () => (await state(rollout.id)).rollout.state === 'completed', () => pollRound(stations));
    const refused = await bscupsInProcess(['rollout', 'rollback', rollout.id], srv.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--allow-downgrade');
    const back = await bscupsJson<{ rollouts: string[] }>(['rollout', 'rollback', rollout.id, '--allow-downgrade'], srv.env);
    expect(back.rollouts).toHaveLength(1);
    const id = back.rollouts[0] as string;
    await until('rollback rollout completed', async () => (await state(id)).rollout.state === 'completed', () => pollRound(stations));
    expect((await state(id)).rollout.rollbackOf).toBe(rollout.id);
    expect((await state(rollout.id)).rollout.state).toBe('rolled_back');
    for (const st of stations) expect((await readFile(join(st.home, 'version.txt'), 'utf8')).trim()).toBe('1.0.0');
  }, 60_000);

  it('a library package in use cannot be removed; a station in an active rollout is not enrolled twice', async () => {
    const stations = await fleet('0B0000', 2, 'twice');
    const first = await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7001', label: ['group=twice'], waves: '1,100%', deadline: '60s' });
    await controlRollout(ctx, first.rollout.id, 'pause');
    const second = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=twice'], waves: '100%', deadline: '60s' });
    const shown = await state(second.rollout.id);
    expect(shown.members.map((m) => [m.state, m.reason])).toEqual([
      ['skipped', `in active rollout ${first.rollout.id}`],
      ['skipped', `in active rollout ${first.rollout.id}`],
    ]);
    const removal = await bscupsInProcess(['firmware', 'remove', '2.0.0'], srv.env);
    expect(removal.code).toBe(4);
    expect(removal.stderr).toContain('package 2.0.0 is still used');
    await controlRollout(ctx, first.rollout.id, 'abort');
    // Released by the abort, the stations can join a new rollout.
    const third = await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7002', station: stations.map((s) => s.eui), waves: '100%', deadline: '60s' });
    expect((await state(third.rollout.id)).members.map((m) => m.state)).toEqual(['pending', 'pending']);
    await controlRollout(ctx, third.rollout.id, 'abort');
  }, 60_000);
});
