import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { rotateStationCredential } from '../src/operations/credential-rotate.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { upgradeStationsFirmware } from '../src/operations/firmware-targets.js';
import { advanceRollouts } from '../src/operations/rollout-engine.js';
import { createRollout, showRollout } from '../src/operations/rollouts.js';
import { changeStation, registerStation } from '../src/operations/stations.js';
import { bscupsInProcess } from './support/cli-in-process.js';
import { operationContext } from './support/rollout-fleet.js';
import { startTestServer, type TestServer } from './support/server.js';

// A direct change of what an active rollout changes on a station (its firmware,
// a URI, a credential it rotates) is refused with the rollout named, unless
// forced; a forced one is recorded in the rollout as made outside it. The
// engine is not on a timer here: the tests advance rollouts themselves.
let srv: TestServer;
let ctx: RolloutContext;

const engine = () => advanceRollouts({ rollouts: srv.runtime.rollouts, fleet: srv.runtime.fleet, clock: () => new Date() }, (id, e) => { throw new Error(`rollout ${id}: ${String(e)}`); });

async function stations(prefix: string, count: number, group: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 1; i <= count; i++) {
    const eui = `${prefix}${i.toString(16).toUpperCase().padStart(10, '0')}`;
    await registerStation(ctx, { eui, labels: { group }, tcUri: 'ws://127.0.0.1:7400' });
    await srv.runtime.registry.touchStation(eui, { at: new Date(), remoteAddress: null });
    out.push(eui);
  }
  return out;
}

async function refusal(p: Promise<unknown>): Promise<CupsError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(CupsError);
  return e as CupsError;
}

beforeAll(async () => {
  srv = await startTestServer({ config: { rolloutInterval: 3600 } });
  ctx = operationContext(srv.runtime);
}, 60_000);
afterAll(async () => srv?.stop());

describe('direct changes to stations held by an active rollout', () => {
  it('station set --tc-uri is refused naming the rollout; --force sets it and the rollout records it (CLI and operations)', async () => {
    const [a, b, c] = (await stations('F10000', 3, 'direct-tc')) as [string, string, string];
    const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7401', label: ['group=direct-tc'], waves: '1,100%', deadline: '1h' });
    await engine();
    expect((await showRollout(ctx, rollout.id)).members.map((m) => [m.eui, m.state])).toEqual([[a, 'offered'], [b, 'pending'], [c, 'pending']]);

    const e = await refusal(changeStation(ctx, b, { tcUri: 'ws://127.0.0.1:7499' }));
    expect(e.code).toBe('station_in_rollout');
    expect(e.message).toContain(`${b} is in running rollout ${rollout.id} (TC URI ws://127.0.0.1:7401)`);
    expect(e.message).toContain(`bscups rollout abort ${rollout.id}`);
    expect(e.message).toContain('--force');
    expect((await srv.runtime.registry.getStation(b))?.desired.tcUri).toBe('ws://127.0.0.1:7400');
    // Other changes of a held station are not the rollout's: a name, or the CUPS URI under a TC URI rollout.
    await changeStation(ctx, b, { name: 'held', cupsUri: 'https://127.0.0.1:7402' });

    const cli = await bscupsInProcess(['station', 'set', c, '--tc-uri', 'ws://127.0.0.1:7499'], srv.env);
    expect(cli.code).toBe(4);
    expect(cli.stderr).toContain(`is in running rollout ${rollout.id}`);
    expect((await srv.runtime.registry.getStation(c))?.desired.tcUri).toBe('ws://127.0.0.1:7400');
    const forced = await bscupsInProcess(['station', 'set', c, '--tc-uri', 'ws://127.0.0.1:7499', '--force'], srv.env);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await srv.runtime.registry.getStation(c))?.desired.tcUri).toBe('ws://127.0.0.1:7499');

    // Forced on the offered station too: the rollout fails it as changed outside it.
    await changeStation(ctx, a, { tcUri: 'ws://127.0.0.1:7498', force: true });
    await engine();
    const shown = await showRollout(ctx, rollout.id);
    expect(shown.members.find((m) => m.eui === c)).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/^changed outside the rollout: desired tcUri=ws:\/\/127\.0\.0\.1:7499 forced by local:/) });
    expect(shown.members.find((m) => m.eui === a)).toMatchObject({ state: 'failed', reason: 'desired tcUri changed outside the rollout' });
    // The rollout did not overwrite the forced URI of the pending station.
    expect((await srv.runtime.registry.getStation(c))?.desired.tcUri).toBe('ws://127.0.0.1:7499');
  }, 60_000);

  it('firmware upgrade of a station in an active firmware rollout is refused before anything is stored', async () => {
    const [a] = (await stations('F20000', 1, 'direct-fw')) as [string];
    await srv.runtime.rollouts.addPackage({ package: '5.0.0', blob: 'sha256-none', size: 1, sha256: '00'.repeat(32), signatures: [], models: [], createdBy: 'test' }, new Date());
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '5.0.0', label: ['group=direct-fw'], waves: '100%', deadline: '1h' });
    let opened = false;
    const source = { label: 'update', size: 4, open: () => ((opened = true), Readable.from([Buffer.from('data')])) };
    const e = await refusal(upgradeStationsFirmware(ctx, { package: '5.0.1', source, stations: [a], maxOffers: 3 }));
    expect(e.code).toBe('station_in_rollout');
    expect(e.message).toContain(`${a} is in running rollout ${rollout.id} (firmware 5.0.0)`);
    expect(opened).toBe(false);
    expect((await srv.runtime.registry.getStation(a))?.firmware).toBeNull();
    // By label, the same.
    expect((await refusal(upgradeStationsFirmware(ctx, { package: '5.0.1', source, labels: { group: 'direct-fw' }, maxOffers: 3 }))).code).toBe('station_in_rollout');
  }, 30_000);

  it('rotating a credential a rotation rollout holds is refused; the other category is not the rollout\'s', async () => {
    const [a] = (await stations('F30000', 1, 'direct-rot')) as [string];
    const { rollout } = await createRollout(ctx, { rotate: 'cups', label: ['group=direct-rot'], waves: '100%', deadline: '1h' });
    const e = await refusal(rotateStationCredential(ctx, a, 'cups', '/nonexistent-pki'));
    expect(e.code).toBe('station_in_rollout');
    expect(e.message).toContain(`${a} is in running rollout ${rollout.id} (cups credential rotation)`);
    // tc is not held: the rotation goes on and fails only for want of a CA.
    expect((await refusal(rotateStationCredential(ctx, a, 'tc', '/nonexistent-pki'))).code).not.toBe('station_in_rollout');
    expect((await refusal(rotateStationCredential(ctx, a, 'cups', '/nonexistent-pki', undefined, { force: true }))).code).not.toBe('station_in_rollout');
  }, 30_000);
});
