import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationRequestBody } from '../src/protocol/index.js';
import { adminClient } from './support/admin-client.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

// Gateway health as the operator sees it: `station show`, `station list --health`,
// the API filter, `status`, the fleet gauge. A real server with the health
// thresholds shrunk (early under 300 ms), real polls on its station route, the
// real CLI entry point (run in this process).

const FAILING = '0016C001FF10E101';
const STEADY = '0016C001FF10E102';
const SILENT = '0016C001FF10E103';
const NEVER = '0016C001FF10E104';
const TC_URI = 'wss://lns.example.com:8887';
const HEALTH = { healthEarly: 0.3, healthEarlyCount: 2, healthInterval: 0.6, healthGrace: 600 };
const HEALTH_ENV = { BSCUPS_HEALTH_EARLY: '0.3', BSCUPS_HEALTH_EARLY_COUNT: '2', BSCUPS_HEALTH_INTERVAL: '0.6', BSCUPS_HEALTH_GRACE: '600' };

let srv: TestServer;
let env: Record<string, string>;
let key: string;
let api: ReturnType<typeof adminClient>;

async function poll(eui: string): Promise<void> {
  const res = await srv.server.app.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload: encodeStationRequestBody(stationRequest(eui, { tcUri: TC_URI })) });
  expect(res.statusCode).toBe(200);
}

/** Resolves once `ms` of wall time passed: the station's rhythm, shrunk, is the point of the test. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  srv = await startTestServer({ config: HEALTH });
  env = { ...srv.env, ...HEALTH_ENV };
  key = srv.server.admin.firstAdminKey as string;
  api = adminClient(srv.server.admin.url.replace(/\/api\/v1$/, ''));
  const { registry } = srv.runtime;
  for (const eui of [FAILING, STEADY, SILENT, NEVER]) await registry.createStation({ eui, desired: { tcUri: TC_URI } });
  // Three calls in a row, each far sooner than --health-early after the last: the failing beat.
  for (let i = 0; i < 3; i++) await poll(FAILING);
  // Two calls further apart than --health-early: its regular rhythm.
  await poll(STEADY);
  await poll(SILENT);
  await pause(400);
  await poll(STEADY);
  // Seen last an hour ago: far past its interval plus the grace.
  await srv.runtime.registry.touchStation(SILENT, { at: new Date(Date.now() - 3_600_000), remoteAddress: null });
});
afterAll(async () => srv?.stop());

describe('gateway health, shown', () => {
  it('station show says the health and why, in words; the station carries the health event', async () => {
    const shown = await bscupsInProcess(['station', 'show', FAILING], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^health: lns failing: calls CUPS every \d+(\.\d)? s since \d\d:\d\d UTC: its LNS connection is failing$/m);
    const station = await api<{ health: { state: string; earlyRun: number } }>('GET', `/api/v1/stations/${FAILING}`, key);
    expect(station.body.health).toMatchObject({ state: 'lns_failing', earlyRun: 2 });
    const events = await api<{ items: { type: string; detail?: Record<string, unknown> }[] }>('GET', `/api/v1/stations/${FAILING}/events?type=health`, key);
    expect(events.body.items.map((e) => e.detail)).toEqual([expect.objectContaining({ kind: 'health_changed', eui: FAILING, from: 'unknown', to: 'lns_failing' })]);
  });

  it('the API filters by health in SQL, silence judged by each station’s interval plus the grace', async () => {
    const euis = async (health: string) => {
      const page = await api<{ items: { eui: string; health: { state: string; reason: string } }[] }>('GET', `/api/v1/stations?health=${health}`, key);
      expect(page.status).toBe(200);
      return page.body.items.map((s) => `${s.eui} ${s.health.state}`);
    };
    expect(await euis('lns_failing')).toEqual([`${FAILING} lns_failing`]);
    expect(await euis('healthy')).toEqual([`${STEADY} healthy`]);
    expect(await euis('silent')).toEqual([`${SILENT} silent`]);
    expect(await euis('unknown')).toEqual([`${NEVER} unknown`]);
    expect(await euis('healthy,lns-failing')).toEqual([`${FAILING} lns_failing`, `${STEADY} healthy`]);
    const silent = await api<{ health: { reason: string } }>('GET', `/api/v1/stations/${SILENT}`, key);
    expect(silent.body.health.reason).toMatch(/^not seen for 60 min \(its regular interval is 0.6 s\)$/);
    expect((await api('GET', '/api/v1/stations?health=sleepy', key)).status).toBe(400);
  });

  it('station list --health filters the same from the CLI, and refuses an unknown state', async () => {
    expect((await bscupsJson<{ eui: string }[]>(['station', 'list', '--health', 'lns_failing,silent'], env)).map((s) => s.eui)).toEqual([FAILING, SILENT]);
    const bad = await bscupsInProcess(['station', 'list', '--health', 'sleepy'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('lns_failing');
  });

  it('status and the fleet gauge count stations by health', async () => {
    const summary = await api<{ byHealth: Record<string, number> }>('GET', '/api/v1/fleet/summary', key);
    expect(summary.body.byHealth).toEqual({ unknown: 1, healthy: 1, lns_failing: 1, silent: 1 });
    const table = await bscupsInProcess(['status'], env);
    expect(table.stdout).toMatch(/^lns failing\s+1$/m);
    const metrics = await api('GET', '/metrics', key);
    expect(metrics.text).toContain('bscups_fleet_stations_by_health{health="lns_failing"} 1');
    expect(metrics.text).toContain('bscups_fleet_stations_by_health{health="silent"} 1');
  });
});
