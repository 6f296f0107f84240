import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type Json } from './support/admin-client.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

// --start-at and --window through the CLI, locally and through the admin API
// (--server): the same rollout, the same refusals; the OpenAPI document
// publishes the new fields. The engine runs on the real clock here, so the
// start is hours away and nothing is offered: the engine's behaviour over a day
// is in rollouts-schedule.test.ts.
let server: TestServer;
let remote: Record<string, string>;
let call: ReturnType<typeof adminClient>;
let admin: string;

beforeAll(async () => {
  server = await startTestServer({ config: { rolloutInterval: 0.1 } });
  const origin = server.server.admin.url.replace(/\/api\/v1$/, '');
  call = adminClient(origin);
  admin = server.server.admin.firstAdminKey as string;
  remote = { BSCUPS_SERVER: origin, BSCUPS_API_KEY: admin };
  for (let i = 1; i <= 4; i++) {
    const eui = `00000000000CA00${i}`;
    expect((await call('POST', '/api/v1/stations', admin, { eui, labels: { ring: i <= 2 ? 'local' : 'remote' } })).status).toBe(201);
    await server.runtime.registry.touchStation(eui, { at: new Date(), remoteAddress: null });
  }
}, 60_000);
afterAll(async () => {
  await server.stop();
});

describe('scheduled rollouts with windows from the CLI and the API', () => {
  it('creates a scheduled rollout locally and through --server alike, shows it, and aborts it', async () => {
    const made: Json[] = [];
    for (const [ring, env] of [['local', server.env], ['remote', remote]] as const) {
      const r = await bscupsJson<Json>(['rollout', 'create', '--tc-uri', 'ws://127.0.0.1:7300', '--label', `ring=${ring}`, '--start-at', '2h', '--window', 'mon-fri 01:00-05:00 Europe/Berlin', '--window', 'Sat,Sun 00:00-24:00 UTC'], env);
      expect(r).toMatchObject({ state: 'scheduled', windows: ['Mon-Fri 01:00-05:00 Europe/Berlin', 'Sat,Sun 00:00-24:00 UTC'] });
      expect(Date.parse(r.startAt) - Date.now()).toBeGreaterThan(7_000_000);
      expect(r.gate).toMatch(/^scheduled: starts at /);
      made.push(r);
    }
    const listed = await bscupsJson<Json[]>(['rollout', 'list', '--state', 'scheduled'], remote);
    expect(listed.map((r) => r.id).sort()).toEqual(made.map((r) => r.id).sort());

    const human = await bscupsInProcess(['rollout', 'show', made[0].id], server.env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/state\s+scheduled/);
    expect(human.stdout).toMatch(/start\s+\S+ \(scheduled: nothing is offered before/);
    expect(human.stdout).toContain('windows  Mon-Fri 01:00-05:00 Europe/Berlin; Sat,Sun 00:00-24:00 UTC');

    // Held while scheduled: another rollout of the same stations skips them.
    const other = await bscupsJson<Json>(['rollout', 'create', '--tc-uri', 'ws://127.0.0.1:7400', '--label', 'ring=local'], server.env);
    expect(other.totals).toMatchObject({ skipped: 2, pending: 0 });
    const skipped = await call('GET', `/api/v1/rollouts/${other.id}/members?state=skipped`, admin);
    expect(skipped.body.items.map((m: Json) => m.reason)).toEqual([`in active rollout ${made[0].id}`, `in active rollout ${made[0].id}`]);

    const aborted = await bscupsJson<Json>(['rollout', 'abort', made[1].id], remote);
    expect(aborted.state).toBe('aborted');
    const shown = await call('GET', `/api/v1/rollouts/${made[1].id}`, admin);
    expect(shown.body).toMatchObject({ state: 'aborted', startAt: made[1].startAt, eta: null });
  });

  it('refuses a bad --window or --start-at the same way locally and remotely, creating nothing', async () => {
    const before = (await call('GET', '/api/v1/rollouts', admin)).body.items.length;
    for (const env of [server.env, remote]) {
      const w = await bscupsInProcess(['--json', 'rollout', 'create', '--tc-uri', 'ws://127.0.0.1:7300', '--label', 'ring=local', '--window', 'weekdays 01:00-05:00 Europe/Berlin'], env);
      expect(w.code).not.toBe(0);
      expect(w.stderr).toContain('invalid_window');
      const s = await bscupsInProcess(['--json', 'rollout', 'create', '--tc-uri', 'ws://127.0.0.1:7300', '--label', 'ring=local', '--start-at', '2026-12-08T02:00'], env);
      expect(s.code).not.toBe(0);
      expect(s.stderr).toContain('has no time zone');
    }
    expect((await call('GET', '/api/v1/rollouts', admin)).body.items.length).toBe(before);
  });

  it('publishes startAt and window in the OpenAPI document', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json', admin)).body;
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.RolloutCreate.properties)).toEqual(expect.arrayContaining(['startAt', 'window']));
    expect(Object.keys(schemas.Rollout.properties)).toEqual(expect.arrayContaining(['startAt', 'windows', 'outsideWindows']));
    expect(schemas.Rollout.properties.state.enum).toContain('scheduled');
  });
});
