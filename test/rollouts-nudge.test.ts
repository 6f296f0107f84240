import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { showRollout } from '../src/operations/rollouts.js';
import { registerStation } from '../src/operations/stations.js';
import { adminClient } from './support/admin-client.js';
import { createFleet, operationContext, pollRound, until } from './support/rollout-fleet.js';
import { startTestServer, type TestServer } from './support/server.js';

// A server whose rollout engine's timer would next run in an hour: anything the
// rollout does within seconds was started by the nudge of an operator action.
let srv: TestServer;
let work: string;
let ctx: RolloutContext;
let key: string;
let call: ReturnType<typeof adminClient>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-rollout-nudge-'));
  // No `pki init` was run for this server: it has no station CA to issue credentials with.
  srv = await startTestServer({ config: { rolloutInterval: 3600 }, serve: { pkiDir: join(work, 'no-pki') } });
  ctx = operationContext(srv.runtime);
  key = srv.server.admin.firstAdminKey as string;
  call = adminClient(`http://127.0.0.1:${srv.server.admin.port}`);
});

afterAll(async () => {
  await srv.stop();
  await rm(work, { recursive: true, force: true });
});

describe('operator actions nudge the engine of the server that took them', () => {
  it('a rollout created through the API starts its first wave at once, and resuming moves it on, with a one-hour interval', async () => {
    const stations = await createFleet(ctx, { url: srv.url, dir: work, count: 2, prefix: 'D00000', labels: { group: 'nudge' }, sigKey: Buffer.alloc(64, 1), tcUri: 'ws://old.example:6887' });
    await pollRound(stations);
    const t0 = Date.now();
    const created = await call('POST', '/api/v1/rollouts', key, { healthSoak: '0', tcUri: 'wss://new.example:6887', label: ['group=nudge'], waves: '1,100%', deadline: '1h' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const started = async (wave: number) => (await showRollout(ctx, id)).events.some((e) => e.type === 'wave_started' && e.wave === wave);
    await until('wave 1 started', () => started(1), () => Promise.resolve(), 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Paused before the first station fetched its offer: the pause withdrew it, so its poll brings nothing,
    // and no evaluation is due for an hour.
    expect((await call('POST', `/api/v1/rollouts/${id}/pause`, key)).status).toBe(200);
    const results = await pollRound(stations);
    expect(results.get(stations[0]!.eui)?.applied ?? []).toEqual([]);
    await pollRound(stations);
    expect(await started(2)).toBe(false);

    // Resuming evaluates at once: the withdrawn member is offered again without waiting for the hour.
    expect((await call('POST', `/api/v1/rollouts/${id}/resume`, key)).status).toBe(200);
    const first = async () => (await showRollout(ctx, id)).members.find((m) => m.eui === stations[0]!.eui)?.state;
    await until('wave 1 offered again after resume', async () => (await first()) === 'offered', () => Promise.resolve(), 10_000);
    const again = await pollRound(stations);
    expect(again.get(stations[0]!.eui)?.applied).toEqual(['tcUri']);
    expect(await started(2)).toBe(false);
  }, 60_000);

  it('a rotation rollout on a server without a station CA halts with the reason instead of offering anything', async () => {
    await registerStation(ctx, { eui: 'D100000000000001', labels: { group: 'no-ca' } });
    await srv.runtime.registry.touchStation('D100000000000001', { at: new Date(), remoteAddress: null });
    const created = await call('POST', '/api/v1/rollouts', key, { rotate: 'cups', label: ['group=no-ca'], waves: '100%' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await until('rollout halted', async () => (await showRollout(ctx, id)).rollout.state === 'halted', () => Promise.resolve(), 10_000);
    const halted = await showRollout(ctx, id);
    expect(halted.rollout.haltReason).toBe(`cannot issue credentials: no station CA at ${join(work, 'no-pki', 'ca.pem')}; create one with "bscups pki init --dir ${join(work, 'no-pki')}" or point --pki-dir at it`);
    expect(halted.members.map((m) => m.state)).toEqual(['pending']);
    expect((await srv.runtime.registry.getStationAuth('D100000000000001'))?.rotations).toEqual([]);
  }, 30_000);
});
