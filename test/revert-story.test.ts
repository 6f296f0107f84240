import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startLnsWorld, type LnsWorld } from './support/lns-world.js';
import type { TestServer } from './support/server.js';

// `station set --tc-uri URI --revert-unhealthy` with simulated stations that
// behave like the real one (PROTOCOL.md 8): given a TC URI where nothing
// listens, a station calls CUPS again after its TC back-off, turns lns_failing,
// gets its old TC URI back at its next exchange, and with its old LNS working
// calls only at its regular check again: healthy. The CLI sets it locally and
// with --server (through the API) alike. Times scaled by 1/10,000 (450 s → 45
// ms, 24 h → 8.64 s, --health-early 1 h → 0.36 s), as in the health story; on
// SQLite only, since the same decision on PostgreSQL is tested exchange by
// exchange with an injected clock (revert-station.test.ts).

const SCALE = 0.0001;
const HEALTH = { healthEarly: 3600 * SCALE, healthEarlyCount: 2, healthInterval: 86_400 * SCALE, healthGrace: 7200 * SCALE, lastSeenInterval: 0.05 };
const LOCAL = '0016C001FF10E101';
const REMOTE = '0016C001FF10E102';


const setups = [{ name: 'SQLite file', skip: false, database: (dir: string) => Promise.resolve({ url: join(dir, 'registry.sqlite'), drop: () => Promise.resolve() }) }];

for (const setup of setups) {
  describe.skipIf(setup.skip)(`revert story on ${setup.name}`, () => {
    let world: LnsWorld;
    let work: string;
    let srv: TestServer;
    let lnsPort: number;
    let deadPort: number;
    const stop = new AbortController();
    let running: Promise<unknown>[] = [];

    beforeAll(async () => {
      world = await startLnsWorld({ name: 'bscups-revert-story', database: setup.database, config: HEALTH, replicas: 1, lns: 1 });
      ({ work, deadPort } = world);
      srv = world.replicas[0] as TestServer;
      lnsPort = world.lnsPorts[0] as number;
    });
    afterAll(async () => {
      stop.abort();
      await Promise.allSettled(running);
      await world?.close();
    });

    it('a dead TC URI set with --revert-unhealthy is undone at the next exchange after the station turns lns_failing; then healthy', async () => {
      const key = srv.server.admin.firstAdminKey as string;
      const origin = srv.server.admin.url.replace(/\/api\/v1$/, '');
      const old = `ws://127.0.0.1:${lnsPort}`;
      const dead = `ws://127.0.0.1:${deadPort}`;
      for (const eui of [LOCAL, REMOTE]) await bscupsJson(['station', 'add', eui, '--tc-uri', old], srv.env);
      running = [LOCAL, REMOTE].map(async (eui) => {
        const home = join(work, eui);
        await initStationHome(home, { cupsUri: srv.url, tcUri: old });
        return createSimulatedStation({ home, eui }).run({ signal: stop.signal, timeScale: SCALE });
      });
      const show = (eui: string) => bscupsJson<{ desired: { tcUri: string | null }; reported: { tcUri: string | null } | null; health: { state: string; reason: string }; events: { type: string; message: string }[] }>(['station', 'show', eui], srv.env);
      // Both seen, with their old LNS working.
      for (const eui of [LOCAL, REMOTE]) await expect.poll(async () => (await show(eui)).reported?.tcUri, { timeout: 20_000, interval: 100 }).toBe(old);

      const local = await bscupsInProcess(['station', 'set', LOCAL, '--tc-uri', dead, '--revert-unhealthy'], srv.env);
      expect(local.code, local.stderr).toBe(0);
      const remote = await bscupsInProcess(['--server', origin, '--api-key', key, 'station', 'set', REMOTE, '--tc-uri', dead, '--revert-unhealthy'], {});
      expect(remote.code, remote.stderr).toBe(0);

      // Each gets the dead URI at its next regular check, fails on it, and is set back.
      for (const eui of [LOCAL, REMOTE]) {
        await expect.poll(async () => {
          return (await show(eui)).events.some((e) => e.message.startsWith(`desired TC URI set back to ${old}`));
        }, { timeout: 30_000, interval: 100 }).toBe(true);
      }
      for (const eui of [LOCAL, REMOTE]) {
        const s = await show(eui);
        expect(s.desired.tcUri).toBe(old);
        // Then it calls only at its regular check again, with its old LNS: healthy.
        await expect.poll(async () => (await show(eui)).health.state, { timeout: 30_000, interval: 100 }).toBe('healthy');
        expect((await show(eui)).reported?.tcUri).toBe(old);
      }
      const audit = await bscupsJson<{ action: string; target: string; actor: string }[]>(['audit', '--action', 'station.revert'], srv.env);
      expect(audit.map((a) => `${a.actor} ${a.target}`).sort()).toEqual([`server ${LOCAL}`, `server ${REMOTE}`]);
    });
  });
}
