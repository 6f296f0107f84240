import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { bscupsInProcess } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

// `rollout create --health-soak` through the CLI, locally and through the API
// (--server): the same default, the same refusal, the same warning.

let srv: TestServer;
const EUI = '0016C001FF10E101';

beforeAll(async () => {
  srv = await startTestServer();
  // Through the server's own registry: the in-process CLI shares this process's event loop, and a SQLite
  // write of its own, made while the starting server's first passes hold a transaction, would wait on them.
  await srv.runtime.registry.createStation({ eui: EUI });
  const home = join(srv.dir, 'station');
  await initStationHome(home, { cupsUri: srv.url });
  await createSimulatedStation({ home, eui: EUI }).run({ maxExchanges: 1 });
});
afterAll(() => srv?.stop());

const modes = () => ({
  local: srv.env,
  remote: { BSCUPS_SERVER: srv.server.admin.url.replace(/\/api\/v1$/, ''), BSCUPS_API_KEY: srv.server.admin.firstAdminKey as string },
});

describe('rollout create --health-soak, locally and with --server', () => {
  for (const mode of ['local', 'remote'] as const) {
    it(`${mode}: refused for a CUPS URI change, which the station answers by calling again at once`, async () => {
      const r = await bscupsInProcess(['--json', 'rollout', 'create', '--cups-uri', 'https://cups2.example.com:443', '--station', EUI, '--health-soak', '10m'], modes()[mode]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/health_soak_not_supported|--health-soak cannot gate a CUPS URI https:\/\/cups2\.example\.com:443 rollout: a CUPS URI change makes the station call CUPS again at once/);
    });

    it(`${mode}: a TC URI rollout soaks 30 min by default; a deadline shorter than a healthy station needs is created with a warning`, async () => {
      const r = await bscupsInProcess(['--json', 'rollout', 'create', '--tc-uri', `ws://127.0.0.1:${mode === 'local' ? 7601 : 7602}`, '--station', EUI, '--deadline', '1h'], modes()[mode]);
      expect(r.code, r.stderr).toBe(0);
      const created = JSON.parse(r.stdout) as { id: string; plan: { healthSoakMs: number; deadlineMs: number }; warnings: string[]; totals: { soaking: number } };
      expect(created.plan).toMatchObject({ healthSoakMs: 1_800_000, deadlineMs: 3_600_000 });
      expect(created.totals.soaking).toBe(0);
      expect(created.warnings).toEqual(['--deadline 1h is shorter than a healthy station needs: the change reaches it at its next regular check (up to 24 h after the offer) and then soaks 30 min, so stations that work may fail as not confirmed; give --deadline 1470m or more, or leave it out for the default']);
      expect(r.stderr).toContain('warning: --deadline 1h is shorter than a healthy station needs');
      await bscupsInProcess(['rollout', 'abort', created.id], modes()[mode]);
      const shown = await bscupsInProcess(['rollout', 'show', created.id], modes()[mode]);
      expect(shown.stdout).toMatch(/^soak\s+30 min after each station's change: a call to CUPS within it fails the station; 0 soaking now$/m);
    });
  }
});
