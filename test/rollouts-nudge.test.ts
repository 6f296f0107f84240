import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { showRollout } from '../src/operations/rollouts.js';
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
  srv = await startTestServer({ config: { rolloutInterval: 3600 } });
  ctx = operationContext(srv.runtime);
  work = await mkdtemp(join(tmpdir(), 'bscups-rollout-nudge-'));
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
    const created = await call('POST', '/api/v1/rollouts', key, { tcUri: 'wss://new.example:6887', label: ['group=nudge'], waves: '1,100%', deadline: '1h' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const started = async (wave: number) => (await showRollout(ctx, id)).events.some((e) => e.type === 'wave_started' && e.wave === wave);
    await until('wave 1 started', () => started(1), () => Promise.resolve(), 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Paused, the first station confirms; only an evaluation can notice, and none is due for an hour.
    expect((await call('POST', `/api/v1/rollouts/${id}/pause`, key)).status).toBe(200);
    const results = await pollRound(stations);
    expect(results.get(stations[0]!.eui)?.applied).toEqual(['tcUri']);
    await pollRound(stations);
    expect(await started(2)).toBe(false);

    expect((await call('POST', `/api/v1/rollouts/${id}/resume`, key)).status).toBe(200);
    await until('wave 2 started after resume', () => started(2), () => Promise.resolve(), 10_000);
    const shown = await showRollout(ctx, id);
    expect(shown.members.map((m) => [m.eui, m.state])).toEqual([[stations[0]!.eui, 'confirmed'], [stations[1]!.eui, 'offered']]);
  }, 60_000);
});
