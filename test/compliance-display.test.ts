import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationRequestBody } from '../src/protocol/index.js';
import { adminClient } from './support/admin-client.js';
import { bscupsInProcess as runCli, bscupsJson as cliJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

// Firmware compliance as the operator sees it: the summary (API, `status` locally
// and through the API), the station filter (API, CLI both ways) and the gauge,
// over stations that reported through the station route.

const eui = (i: number) => `0016C001FF20${i.toString(16).toUpperCase().padStart(4, '0')}`;
const LATEST = [0, 1, 2, 3, 4].map(eui);
const BEHIND = [5, 6, 7].map(eui);
const TARGETED = eui(8);
const KERLINK = [9, 10].map(eui);
const NEVER = eui(11);

let srv: TestServer;
let key: string;
let api: ReturnType<typeof adminClient>;
let remote: string[];

async function poll(station: string, model: string, pkg: string): Promise<void> {
  const res = await srv.server.app.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload: encodeStationRequestBody(stationRequest(station, { model, package: pkg })) });
  expect(res.statusCode).toBe(200);
}

beforeAll(async () => {
  srv = await startTestServer();
  key = srv.server.admin.firstAdminKey as string;
  const origin = srv.server.admin.url.replace(/\/api\/v1$/, '');
  api = adminClient(origin);
  remote = ['--server', origin, '--api-key', key];
  const { registry, rollouts } = srv.runtime;
  for (let i = 0; i <= 11; i++) await registry.createStation({ eui: eui(i) });
  for (const s of LATEST) await poll(s, 'linux', '2.1.0');
  for (const s of [...BEHIND, TARGETED]) await poll(s, 'linux', '2.0.0');
  for (const s of KERLINK) await poll(s, 'kerlink', '1.0');
  const at = Date.parse('2026-12-01T00:00:00Z');
  for (const [i, p] of ['2.1.0', '2.0.0'].entries()) {
    await rollouts.addPackage({ package: p, blob: `fw/${p}`, size: 1, sha256: 'ef'.repeat(32), signatures: [], models: ['linux'], createdBy: 'test' }, new Date(at + i * 1000));
  }
  await registry.setFirmwareTarget(TARGETED, { package: '2.1.0', blob: 'fw/2.1.0', size: 1, sha256: 'ef'.repeat(32), signatures: [], maxOffers: 3, fromPackage: '2.0.0', requestedAt: new Date(at) });
});
afterAll(async () => srv?.stop());

describe('firmware compliance, shown', () => {
  it('the fleet summary counts it per model against the newest package for the model', async () => {
    const summary = await api<{ compliance: unknown[] }>('GET', '/api/v1/fleet/summary', key);
    expect(summary.status).toBe(200);
    const zero = { latest: 0, behind: 0, in_progress: 0, ahead: 0, no_package: 0, unknown: 0 };
    expect(summary.body.compliance).toEqual([
      // 2.0.0 was uploaded last, but 2.1.0 is the higher version.
      { model: 'linux', newest: '2.1.0', stations: 9, states: { ...zero, latest: 5, behind: 3, in_progress: 1 } },
      { model: 'kerlink', newest: null, stations: 2, states: { ...zero, no_package: 2 } },
      { model: null, newest: null, stations: 1, states: { ...zero, unknown: 1 } },
    ]);
  });

  it('status shows it per model, locally and through the API alike', async () => {
    for (const via of [[], remote]) {
      const table = await runCli([...via, 'status'], srv.env);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(/^MODEL\s+NEWEST PACKAGE\s+STATIONS\s+LATEST\s+BEHIND\s+IN PROGRESS\s+AHEAD$/m);
      expect(table.stdout).toMatch(/^linux\s+2\.1\.0\s+9\s+5\s+3\s+1\s+0$/m);
      expect(table.stdout).toMatch(/^kerlink\s+\(none in the library\)\s+2\s+-\s+-\s+-\s+-$/m);
      expect(table.stdout).toMatch(/^\(never seen\)\s+-\s+1\s+-\s+-\s+-\s+-$/m);
    }
  });

  it('stations filter by compliance in the API and the CLI (both ways), and an unknown state is refused', async () => {
    const page = await api<{ items: { eui: string }[] }>('GET', '/api/v1/stations?compliance=behind', key);
    expect(page.body.items.map((s) => s.eui)).toEqual(BEHIND);
    const count = await api<{ total: number }>('GET', '/api/v1/stations/count?compliance=in_progress,no_package', key);
    expect(count.body.total).toBe(3);
    for (const via of [[], remote]) {
      expect((await cliJson<{ eui: string }[]>([...via, 'station', 'list', '--compliance', 'behind'], srv.env)).map((s) => s.eui)).toEqual(BEHIND);
      expect((await cliJson<{ eui: string }[]>([...via, 'station', 'list', '--compliance', 'in-progress', '--compliance', 'unknown'], srv.env)).map((s) => s.eui)).toEqual([TARGETED, NEVER]);
      const bad = await runCli([...via, 'station', 'list', '--compliance', 'stale'], srv.env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('no_package');
    }
    expect((await api('GET', '/api/v1/stations?compliance=stale', key)).status).toBe(400);
  });

  it('one station says its state and the package it could have, in the API and station show (both ways)', async () => {
    const one = await api('GET', `/api/v1/stations/${BEHIND[0]}/compliance`, key);
    expect(one.body).toEqual({ eui: BEHIND[0], state: 'behind', newest: '2.1.0' });
    expect((await api('GET', `/api/v1/stations/${KERLINK[0]}/compliance`, key)).body).toEqual({ eui: KERLINK[0], state: 'no_package', newest: null });
    expect((await api('GET', '/api/v1/stations/0016C001FF2FFFFF/compliance', key)).status).toBe(404);
    // The same JSON either way.
    const [local, viaApi] = [await cliJson([ 'station', 'show', TARGETED, '--events', '3'], srv.env), await cliJson([...remote, 'station', 'show', TARGETED, '--events', '3'], srv.env)];
    expect(viaApi).toEqual(local);
    for (const via of [[], remote]) {
      const shown = await runCli([...via, 'station', 'show', BEHIND[0] as string], srv.env);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/^firmware compliance: behind: could have 2\.1\.0 \(the newest library package for its model\)$/m);
      const json = await cliJson<{ compliance: unknown }>([...via, 'station', 'show', TARGETED], srv.env);
      expect(json.compliance).toEqual({ state: 'in_progress', newest: '2.1.0' });
    }
  });

  it('the gauge counts stations by model and compliance', async () => {
    const metrics = await api('GET', '/metrics', key);
    for (const line of [
      'bscups_fleet_stations_by_compliance{model="linux",state="latest"} 5',
      'bscups_fleet_stations_by_compliance{model="linux",state="behind"} 3',
      'bscups_fleet_stations_by_compliance{model="linux",state="in_progress"} 1',
      'bscups_fleet_stations_by_compliance{model="linux",state="ahead"} 0',
      'bscups_fleet_stations_by_compliance{model="kerlink",state="no_package"} 2',
      'bscups_fleet_stations_by_compliance{model="none",state="unknown"} 1',
    ]) expect(metrics.text).toContain(line);
    expect(metrics.text).not.toContain('model="kerlink",state="behind"');
  });
});
