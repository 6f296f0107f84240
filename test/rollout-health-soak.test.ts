import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { adminClient } from './support/admin-client.js';
import { createTestSchema, shouldRunPostgresSuite } from './support/postgres.js';
import { startLnsWorld, type LnsWorld } from './support/lns-world.js';
import type { TestServer } from './support/server.js';

// A health-gated TC URI rollout, in seconds: four simulated stations are moved
// to a new LNS; for two of them the new port is dead (nothing listens). Those
// come back to CUPS on the 450 s beat right after the exchange that delivered
// the change, fail their soak with the reason in words, and halt the rollout on
// its failure budget. The other two stay quiet: their soak passes and each is
// confirmed then, before its next call (they report the new URI only at their
// regular check). The station's times and the health thresholds are scaled by
// 1/10,000 (450 s → 45 ms, 24 h → 8.64 s); the soak is 3 s. Two replicas on one
// registry run the rollout engine every 50 ms: each confirmation is made once.

const SCALE = 0.0001;
const HEALTH = { healthEarly: 3600 * SCALE, healthEarlyCount: 2, healthInterval: 86_400 * SCALE, healthGrace: 7200 * SCALE, lastSeenInterval: 0.05, rolloutInterval: 0.05 };
const DEAD = ['0016C001FF10E001', '0016C001FF10E002'];
const LIVE = ['0016C001FF10E003', '0016C001FF10E004'];

const pgRuns = await shouldRunPostgresSuite('health-gated rollout');


interface Member { eui: string; state: string; reason: string | null; doneAt: string | null }
interface RolloutJson { id: string; state: string; haltReason: string | null; plan: { deadlineMs: number; healthSoakMs: number }; totals: Record<string, number>; etaNote: string }

const setups = [
  { name: 'SQLite file', skip: false, database: (dir: string) => Promise.resolve({ url: join(dir, 'registry.sqlite'), drop: () => Promise.resolve() }) },
  { name: 'PostgreSQL', skip: !pgRuns, database: () => createTestSchema() },
];

for (const setup of setups) {
  describe.skipIf(setup.skip)(`health-gated TC URI rollout on ${setup.name}, two replicas`, () => {
    let world: LnsWorld;
    let work: string;
    let replicas: readonly TestServer[] = [];
    let oldPort: number;
    let newPort: number;
    let deadPort: number;
    const stop = new AbortController();
    let running: Promise<unknown>[] = [];

    beforeAll(async () => {
      world = await startLnsWorld({ name: 'bscups-health-soak', database: setup.database, config: HEALTH, replicas: 2, lns: 2 });
      ({ work, deadPort } = world);
      replicas = world.replicas;
      [oldPort, newPort] = world.lnsPorts as [number, number];
    });
    afterAll(async () => {
      stop.abort();
      await Promise.allSettled(running);
      await world?.close();
    });

    it('dead-LNS stations fail their soak and halt the rollout; the others are confirmed when their soak ends, without another call, once', async () => {
      const key = replicas[0]!.server.admin.firstAdminKey as string;
      const api = adminClient(replicas[0]!.server.admin.url.replace(/\/api\/v1$/, ''));
      const homes = new Map<string, string>();
      for (const [i, eui] of [...DEAD, ...LIVE].entries()) {
        expect((await api('POST', '/api/v1/stations', key, { eui, tcUri: `ws://127.0.0.1:${oldPort}`, labels: { fleet: 'soak', lns: DEAD.includes(eui) ? 'typo' : 'ok' } })).status).toBe(201);
        const home = join(work, eui);
        homes.set(eui, home);
        await initStationHome(home, { cupsUri: replicas[i % 2]!.url, tcUri: `ws://127.0.0.1:${oldPort}` });
        // First contact: a station never seen is not offered anything.
        await createSimulatedStation({ home, eui }).run({ maxExchanges: 1, timeScale: SCALE });
      }

      // The operator's change: the dead port is the typo. The default deadline is the interval + soak + grace.
      const created = await api<RolloutJson>('POST', '/api/v1/rollouts', key, { tcUri: `ws://127.0.0.1:${newPort}`, label: ['fleet=soak', 'lns=ok'], waves: '100%', failureBudget: '1', healthSoak: '3s' });
      expect(created.status).toBe(201);
      expect(created.body.plan).toMatchObject({ healthSoakMs: 3000, deadlineMs: Math.round((86_400 + 7200) * SCALE * 1000) + 3000 });
      expect(created.body.etaNote).toMatch(/^a change reaches a healthy station at its next regular check, up to 8\.6 s after it was offered, then soaks 3 s/);
      const typo = await api<RolloutJson>('POST', '/api/v1/rollouts', key, { tcUri: `ws://127.0.0.1:${deadPort}`, label: ['fleet=soak', 'lns=typo'], waves: '100%', failureBudget: '1', healthSoak: '3s', deadline: '5s' });
      expect(typo.status).toBe(201);
      // Shorter than a healthy station needs: created, with the warning.
      expect((typo.body as RolloutJson & { warnings?: string[] }).warnings).toEqual([expect.stringMatching(/^--deadline 5s is shorter than a healthy station needs/)]);

      const members = async (id: string) => (await api<{ items: Member[] }>('GET', `/api/v1/rollouts/${id}/members`, key)).body.items;
      // Both rollouts offer their stations; then the stations restart (a call at start each), which delivers the change.
      for (const id of [created.body.id, typo.body.id]) await expect.poll(async () => (await members(id)).map((m) => m.state), { timeout: 10_000, interval: 50 }).toEqual(['offered', 'offered']);
      running = [...DEAD, ...LIVE].map((eui) => createSimulatedStation({ home: homes.get(eui) as string, eui }).run({ signal: stop.signal, timeScale: SCALE }));

      const rollout = async (id: string) => (await api<RolloutJson>('GET', `/api/v1/rollouts/${id}`, key)).body;
      await expect.poll(async () => (await rollout(created.body.id)).totals['soaking'], { timeout: 10_000, interval: 20 }).toBe(2);
      // Prometheus sees them too, as `soaking` and not also as `offered`, so the states add up to the members.
      const metrics = (await api('GET', '/metrics', key)).text;
      expect(metrics).toContain(`bscups_rollout_stations{rollout="${created.body.id}",state="soaking"} 2`);
      expect(metrics).not.toContain(`bscups_rollout_stations{rollout="${created.body.id}",state="offered"}`);

      // The typo: both back within the soak on the 450 s beat (scaled), failed, the budget of 1 spent: halted.
      await expect.poll(async () => (await rollout(typo.body.id)).state, { timeout: 10_000, interval: 50 }).toBe('halted');
      const typoed = await rollout(typo.body.id);
      expect(typoed.haltReason).toBe('failure budget exceeded: 2 failed, 1 allowed (1 of 2)');
      for (const m of await members(typo.body.id)) expect(m).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^back at CUPS [\d.]+ s after the change: its LNS connection is failing/) });
      // The others: confirmed once their 3 s soak passed, while still reporting the old URI (their next call is their regular check, 8.64 s on).
      await expect.poll(async () => (await members(created.body.id)).map((m) => m.state), { timeout: 10_000, interval: 50 }).toEqual(['confirmed', 'confirmed']);
      for (const m of await members(created.body.id)) {
        expect(m.reason).toMatch(/^no call to CUPS for 3 s after the change: no sign of failure/);
        const station = await api<{ reported: { tcUri: string } }>('GET', `/api/v1/stations/${m.eui}`, key);
        expect(station.body.reported.tcUri).toBe(`ws://127.0.0.1:${oldPort}`);
      }
      expect((await rollout(created.body.id)).state).toBe('completed');

      // A TC URI rollout reverts a failed station by default: it gets its old TC URI back at its next call,
      // reports it (reverted), and comes back healthy at its regular check.
      await expect.poll(async () => (await members(typo.body.id)).map((m) => { const r = (m as Member & { revert?: { state: string; reason: string } | null }).revert; return r?.state === "refused" ? `refused: ${r.reason}` : r?.state; }), { timeout: 15_000, interval: 50 }).toEqual(['reverted', 'reverted']);
      for (const eui of DEAD) {
        const station = await api<{ desired: { tcUri: string }; reported: { tcUri: string } }>('GET', `/api/v1/stations/${eui}`, key);
        expect([station.body.desired.tcUri, station.body.reported.tcUri]).toEqual([`ws://127.0.0.1:${oldPort}`, `ws://127.0.0.1:${oldPort}`]);
      }
      await expect.poll(async () => Promise.all(DEAD.map(async (eui) => (await api<{ health: { state: string } }>('GET', `/api/v1/stations/${eui}`, key)).body.health.state)), { timeout: 20_000, interval: 100 }).toEqual(['healthy', 'healthy']);


      // Two engines evaluated every 50 ms: each station was confirmed, failed, soaked, reverted once.
      for (const id of [created.body.id, typo.body.id]) {
        const events = (await api<{ items: { type: string; eui: string | null }[] }>('GET', `/api/v1/rollouts/${id}/events?limit=1000`, key)).body.items;
        const perStation = new Map<string, string[]>();
        for (const e of events) if (e.eui !== null) perStation.set(e.eui, [...(perStation.get(e.eui) ?? []), e.type]);
        // A station back before an evaluation saw its delivery fails without a soaking event of its own.
        for (const types of perStation.values()) expect(id === created.body.id ? [types] : [types, types.filter((t) => t !== 'soaking')]).toContainEqual(id === created.body.id ? ['offered', 'soaking', 'confirmed'] : ['offered', 'failed', 'reverting', 'reverted']);
      }
    });
  });
}
