import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { adminClient } from './support/admin-client.js';
import { createTestSchema, shouldRunPostgresSuite } from './support/postgres.js';
import { startLnsWorld, type LnsWorld } from './support/lns-world.js';
import type { TestServer } from './support/server.js';

// The whole story, in seconds: a TC URI change sent to a fleet of simulated
// stations, where the new LNS of some is dead (nothing listens on its port)
// and that of the others accepts. Those with a dead LNS come back to CUPS on
// the 450 s beat and turn lns_failing; the others call only at their regular
// check and turn healthy. Every time of the station and every health threshold
// is scaled by 1/10,000 (450 s → 45 ms, 24 h → 8.64 s, --health-early 1 h →
// 0.36 s). Two replicas on one registry (SQLite file, PostgreSQL), each serving
// half the stations, show the same health for all.

const SCALE = 0.0001;
const HEALTH = { healthEarly: 3600 * SCALE, healthEarlyCount: 2, healthInterval: 86_400 * SCALE, healthGrace: 7200 * SCALE, lastSeenInterval: 0.05 };
const DEAD = ['0016C001FF10D001', '0016C001FF10D002'];
const LIVE = ['0016C001FF10D003', '0016C001FF10D004'];

const pgRuns = await shouldRunPostgresSuite('gateway health story');


const setups = [
  { name: 'SQLite file', skip: false, database: (dir: string) => Promise.resolve({ url: join(dir, 'registry.sqlite'), drop: () => Promise.resolve() }) },
  { name: 'PostgreSQL', skip: !pgRuns, database: () => createTestSchema() },
];

for (const setup of setups) {
  describe.skipIf(setup.skip)(`gateway health story on ${setup.name}`, () => {
    let world: LnsWorld;
    let work: string;
    let replicas: readonly TestServer[] = [];
    let oldLnsPort: number;
    let newLnsPort: number;
    let deadPort: number;
    const stop = new AbortController();
    let running: Promise<unknown>[] = [];

    beforeAll(async () => {
      world = await startLnsWorld({ name: 'bscups-health-story', database: setup.database, config: HEALTH, replicas: 2, lns: 2 });
      ({ work, deadPort } = world);
      replicas = world.replicas;
      [oldLnsPort, newLnsPort] = world.lnsPorts as [number, number];
    });
    afterAll(async () => {
      stop.abort();
      await Promise.allSettled(running);
      await world?.close();
    });

    it('stations whose new LNS is dead turn lns_failing within a few beats, the others healthy at their regular check, the same on both replicas', async () => {
      const [a] = replicas as [TestServer, TestServer];
      const key = a.server.admin.firstAdminKey as string;
      const apis = replicas.map((r) => adminClient(r.server.admin.url.replace(/\/api\/v1$/, '')));
      const api = apis[0] as ReturnType<typeof adminClient>;
      for (const eui of [...DEAD, ...LIVE]) {
        expect((await api('POST', '/api/v1/stations', key, { eui, tcUri: `ws://127.0.0.1:${oldLnsPort}` })).status).toBe(201);
      }
      // The operator's change: a new LNS for everyone, a typo'd (dead) port for some.
      for (const eui of DEAD) expect((await api('PATCH', `/api/v1/stations/${eui}`, key, { tcUri: `ws://127.0.0.1:${deadPort}` })).status).toBe(200);
      for (const eui of LIVE) expect((await api('PATCH', `/api/v1/stations/${eui}`, key, { tcUri: `ws://127.0.0.1:${newLnsPort}` })).status).toBe(200);

      running = [...DEAD, ...LIVE].map(async (eui, i) => {
        const home = join(work, eui);
        const replica = replicas[i % 2] as TestServer;
        await initStationHome(home, { cupsUri: replica.url, tcUri: `ws://127.0.0.1:${oldLnsPort}` });
        return createSimulatedStation({ home, eui }).run({ signal: stop.signal, timeScale: SCALE });
      });

      const healthOf = async (i: number) => {
        const page = await (apis[i] as ReturnType<typeof adminClient>)<{ items: { eui: string; health: { state: string; reason: string }; reported: { tcUri: string | null } | null }[] }>('GET', '/api/v1/stations', key);
        return Object.fromEntries(page.body.items.map((s) => [s.eui, s.health.state]));
      };
      const expected = Object.fromEntries([...DEAD.map((e) => [e, 'lns_failing']), ...LIVE.map((e) => [e, 'healthy'])]);
      // The live ones need their regular check (8.64 s scaled) before they can be called healthy.
      await expect.poll(() => healthOf(0), { timeout: 60_000, interval: 250 }).toEqual(expected);
      await expect.poll(() => healthOf(1), { timeout: 10_000, interval: 250 }).toEqual(expected);

      const failing = await api<{ health: { reason: string }; reported: { tcUri: string } }>('GET', `/api/v1/stations/${DEAD[0] as string}`, key);
      // Still reporting the new TC URI (a station never falls back on its own), on the 450 s beat, scaled.
      expect(failing.body.reported.tcUri).toBe(`ws://127.0.0.1:${deadPort}`);
      expect(failing.body.health.reason).toMatch(/: its LNS connection is failing/);
      const events = await api<{ items: { eui: string; detail: { to: string } }[] }>('GET', '/api/v1/events?type=health', key);
      for (const eui of DEAD) expect(events.body.items.filter((e) => e.eui === eui).map((e) => e.detail.to)).toContain('lns_failing');
    });
  });
}
