import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './support/admin-client.js';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

// Certificate lifetimes end to end: chosen at issue (pki init, station issue-cert
// through the CLI and the API), then read back where an operator looks: station
// list --cert-expiring, bscups status and the fleet summary, the admin /metrics.
// One CLI run starts a Node process (seconds on a loaded machine), the others run
// its entry point in this process: the tests that run several give themselves a
// longer deadline.
const CLI_TIMEOUT = 180_000;

const DAY = 86_400_000;
const SHORT = '0016C001FF10A001'; // 10 days
const MEDIUM = '0016C001FF10A002'; // 60 days, through the API
const LONG = '0016C001FF10A003'; // the default
const TOKEN = '0016C001FF10A004'; // a token, no certificate
const EXPIRED = '0016C001FF10A005'; // a certificate registered already expired

let work: string;
let pki: string;
let srv: TestServer;
let env: Record<string, string>;
let adminKey: string;
const api = () => adminClient(srv.server.admin.url);
const metricsUrl = () => new URL('/metrics', srv.server.admin.dashboard).href;

/** Days from now to an ISO time or Date, rounded. */
const daysTo = (t: string | Date) => Math.round((new Date(t).getTime() - Date.now()) / DAY);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-lifetimes-'));
  pki = join(work, 'pki');
  const init = await bscupsJson<{ ca: { notAfter: string }; server: { notAfter: string } }>(['pki', 'init', '--dir', pki, '--valid-days', '20', '--ca-valid-days', '400']);
  expect(daysTo(init.server.notAfter)).toBe(20);
  expect(daysTo(init.ca.notAfter)).toBe(400);
  srv = await startTestServer({
    allowUnauthenticated: false,
    tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
    serve: { pkiDir: pki },
  });
  // Local CLI runs find the PKI folder and the server certificate as on the server host.
  env = { ...srv.env, BSCUPS_PKI_DIR: pki, BSCUPS_TLS_CERT: join(pki, 'server.pem'), BSCUPS_TLS_KEY: join(pki, 'server.key') };
  adminKey = srv.server.admin.firstAdminKey as string;
  for (const eui of [SHORT, MEDIUM, LONG, TOKEN, EXPIRED]) expect((await api()('POST', '/stations', adminKey, { eui })).status).toBe(201);
});

afterAll(async () => {
  await srv.stop();
  await rm(work, { recursive: true, force: true });
});

describe('certificate lifetimes chosen at issue', () => {
  it('pki init and station issue-cert --valid-days (CLI, API, remote CLI); bad lifetimes are refused with nothing issued', async () => {
    expect(daysTo(new X509Certificate(await readFile(join(pki, 'server.pem'))).validTo)).toBe(20);
    expect(daysTo(new X509Certificate(await readFile(join(pki, 'ca.pem'))).validTo)).toBe(400);
    // CLI runs are slow on a busy machine: the independent ones run together.
    const [kept, local, viaServer, ...bad] = await Promise.all([
      runCli(['pki', 'init', '--dir', pki, '--force', '--ca-valid-days', '10', '--valid-days', '5']),
      bscupsJson<{ credentials: { notAfter: string; fingerprint: string }[] }>(['station', 'issue-cert', SHORT, '--valid-days', '10'], env),
      bscupsInProcess(['--json', 'station', 'issue-cert', LONG, '--valid-days', '200', '--server', srv.server.admin.url, '--api-key', adminKey]),
      bscupsInProcess(['station', 'issue-cert', TOKEN, '--valid-days', '0'], env),
    ]);
    expect(kept.code).toBe(4);
    expect(kept.stderr).toContain('--ca-valid-days applies only when the CA is created');
    // Nothing was replaced by the refused run.
    expect(daysTo(new X509Certificate(await readFile(join(pki, 'server.pem'))).validTo)).toBe(20);
    expect(daysTo(local.credentials[0]?.notAfter as string)).toBe(10);
    const auth = await srv.runtime.registry.getStationAuth(SHORT);
    expect(daysTo(auth?.certificates[0]?.notAfter as Date)).toBe(10);

    const remote = await api()('POST', `/stations/${MEDIUM}/issue-cert`, adminKey, { validDays: 60, files: true });
    expect(remote.status).toBe(200);
    expect(daysTo(remote.body.credentials[0].notAfter)).toBe(60);
    const crt = Buffer.from(remote.body.stationFiles[0].crt, 'base64');
    expect(daysTo(new X509Certificate(crt).validTo)).toBe(60);
    expect(viaServer.code, viaServer.stderr).toBe(0);
    expect(daysTo(JSON.parse(viaServer.stdout).credentials[0].notAfter)).toBe(200);
    for (const r of bad) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('whole number of days from 1 to 36500');
    }
    for (const days of [1.5, 36_501, 0]) {
      const r = await api()('POST', `/stations/${TOKEN}/issue-cert`, adminKey, { validDays: days });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('whole number of days from 1 to 36500');
    }
    const defaultDays = await api()('POST', `/stations/${TOKEN}/issue-token`, adminKey, {});
    expect(defaultDays.status).toBe(200);
    const tokenDays = await api()('POST', `/stations/${TOKEN}/issue-token`, adminKey, { validDays: 5 });
    expect(tokenDays.status).toBe(400);
    expect(tokenDays.body.error.message).toContain('certificates only');
    expect((await srv.runtime.registry.getStationAuth(TOKEN))?.certificates).toEqual([]);

    await srv.runtime.registry.addCertificate(EXPIRED, { fingerprint: 'ab'.repeat(32), category: 'cups', credCrc: 1, notAfter: new Date(Date.now() - DAY) }, new Date());
  }, CLI_TIMEOUT);
});

describe('certificate lifetimes read back', () => {
  it('station list --cert-expiring, in the CLI and the API', async () => {
    const [cli, bad] = await Promise.all([bscupsJson<{ eui: string }[]>(['station', 'list', '--cert-expiring', '30d'], env), bscupsInProcess(['station', 'list', '--cert-expiring', 'soon'], env)]);
    expect(cli.map((s) => s.eui)).toEqual([SHORT, EXPIRED]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('certExpiring must be a number followed by');
    const list = async (window: string) => ((await api()('GET', `/stations?certExpiring=${window}`, adminKey)).body.items as { eui: string }[]).map((s) => s.eui);
    expect(await list('300d')).toEqual([SHORT, MEDIUM, LONG, EXPIRED]);
    expect(await list('1h')).toEqual([EXPIRED]);
    const page = await api()('GET', '/stations?certExpiring=90d&limit=2', adminKey);
    expect(page.body.items.map((s: { eui: string }) => s.eui)).toEqual([SHORT, MEDIUM]);
    const next = await api()('GET', `/stations?certExpiring=90d&limit=2&cursor=${encodeURIComponent(page.body.nextCursor)}`, adminKey);
    expect(next.body.items.map((s: { eui: string }) => s.eui)).toEqual([EXPIRED]);
  }, CLI_TIMEOUT);

  it('bscups status and the fleet summary: stations by expiry, the server certificate and the station CA', async () => {
    const expected = { stations: 4, expired: 1, expiringWithin: { '7d': 0, '30d': 1, '90d': 2 } };
    const [local, text] = await Promise.all([
      bscupsJson<{ certificates: { stations: object; server: { notAfter: string }; stationCa: { notAfter: string } } }>(['status'], env),
      bscupsInProcess(['status'], env),
    ]);
    expect(local.certificates.stations).toMatchObject(expected);
    expect(daysTo(local.certificates.server.notAfter)).toBe(20);
    expect(daysTo(local.certificates.stationCa.notAfter)).toBe(400);

    const remote = await api()('GET', '/fleet/summary', adminKey);
    expect(remote.status).toBe(200);
    expect(remote.body.certificates.stations).toMatchObject(expected);
    expect(daysTo(remote.body.certificates.stations.nextExpiry)).toBe(10);
    expect(daysTo(remote.body.certificates.server.notAfter)).toBe(20);
    expect(remote.body.certificates.server.file).toBe(join(pki, 'server.pem'));
    expect(daysTo(remote.body.certificates.stationCa.notAfter)).toBe(400);

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/server certificate\s+\S+\s+expires in 19 days/);
    expect(text.stdout).toMatch(/station certificates \(4\)\s+\S+\s+1 EXPIRED; 0 within 7d, 1 within 30d, 2 within 90d/);
  }, CLI_TIMEOUT);

  it('the admin /metrics has the certificate gauges', async () => {
    const res = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${adminKey}` } }).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect(res.status).toBe(200);
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(res.text)?.[1]);
    const serverNotAfter = new X509Certificate(await readFile(join(pki, 'server.pem'))).validTo;
    expect(value('bscups_certificate_expiry_timestamp_seconds{certificate="server"}')).toBe(Date.parse(serverNotAfter) / 1000);
    expect(daysTo(new Date(value('bscups_certificate_expiry_timestamp_seconds{certificate="station_ca"}') * 1000))).toBe(400);
    expect(value('bscups_fleet_station_certificates')).toBe(4);
    expect(value('bscups_fleet_station_certificates_expired')).toBe(1);
    expect(value('bscups_fleet_station_certificates_expiring{within="7d"}')).toBe(0);
    expect(value('bscups_fleet_station_certificates_expiring{within="30d"}')).toBe(1);
    expect(value('bscups_fleet_station_certificates_expiring{within="90d"}')).toBe(2);
    expect(daysTo(new Date(value('bscups_fleet_station_certificates_next_expiry_timestamp_seconds') * 1000))).toBe(10);
  });
});
