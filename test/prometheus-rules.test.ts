import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCert } from '../src/pki/index.js';
import { startTestServer, type TestServer } from './support/server.js';

// The alerting rules shipped in docs/prometheus: promtool checks them and runs
// their unit tests (alerts.test.yml), every rule has a test, and every metric a
// rule names is one a real server exports, so the rules cannot drift from the code.
// promtool comes from Debian's `prometheus` package (.ci/run installs it): without
// it the promtool tests are skipped with a warning on a laptop and fail in CI.

const DOCS = fileURLToPath(new URL('../docs/prometheus/', import.meta.url));
const RULES = join(DOCS, 'alerts.yml');
const TESTS = join(DOCS, 'alerts.test.yml');
const PROMTOOL = process.env.BSCUPS_PROMTOOL ?? 'promtool';


function run(cmd: string, args: readonly string[]): Promise<{ code: number | string; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: DOCS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : ((error as NodeJS.ErrnoException).code ?? 1);
      resolve({ code: typeof code === 'number' || typeof code === 'string' ? code : 1, out: `${stdout}${stderr}` });
    });
  });
}

const promtool = await run(PROMTOOL, ['--version']);
const havePromtool = promtool.code === 0;
if (!havePromtool) {
  const why = `promtool not found (${PROMTOOL}: ${String(promtool.code)}); install Debian's prometheus package (apt-get install prometheus) or set BSCUPS_PROMTOOL`;
  if (process.env.CI === 'true') throw new Error(`${why}: required in CI`);
  console.warn(`SKIPPING the promtool checks of docs/prometheus: ${why}`);
}

describe.skipIf(!havePromtool)('promtool on docs/prometheus', () => {
  it('checks the rules', async () => {
    const r = await run(PROMTOOL, ['check', 'rules', RULES]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it('passes the unit tests of every rule', async () => {
    const r = await run(PROMTOOL, ['test', 'rules', TESTS]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('fails a unit test that expects the wrong thing (the run can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bscups-promtool-'));
    try {
      const tests = (await readFile(TESTS, 'utf8')).replace('rule_files:\n  - alerts.yml', `rule_files:\n  - ${RULES}`).replace('summary: Rollout ro-1 halted', 'summary: Rollout ro-2 halted');
      await writeFile(join(dir, 'wrong.test.yml'), tests);
      const r = await run(PROMTOOL, ['test', 'rules', join(dir, 'wrong.test.yml')]);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain('BscupsRolloutHalted');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the rules and the server agree', () => {
  let work: string;
  let srv: TestServer;
  let rules: string;

  beforeAll(async () => {
    rules = await readFile(RULES, 'utf8');
    work = await mkdtemp(join(tmpdir(), 'bscups-rules-'));
    // TLS with a station CA, so the certificate gauges have values too.
    const ca = await createCa();
    const server = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
    const pki = join(work, 'pki');
    await mkdir(pki);
    await Promise.all([
      writeFile(join(pki, 'ca.pem'), ca.certPem),
      writeFile(join(pki, 'ca.key'), ca.keyPem, { mode: 0o600 }),
      writeFile(join(pki, 'server.pem'), server.certPem),
      writeFile(join(pki, 'server.key'), server.keyPem, { mode: 0o600 }),
    ]);
    srv = await startTestServer({
      allowUnauthenticated: false,
      tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
      serve: { pkiDir: pki },
    });
  });

  afterAll(async () => {
    await srv.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('every rule has a unit test', async () => {
    const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    const tested = new Set([...(await readFile(TESTS, 'utf8')).matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
  });

  it('every metric a rule names is exported by the station port or the admin listener', async () => {
    const key = srv.server.admin.firstAdminKey as string;
    // The station port speaks TLS with a private CA: scraped with Node's https, trusting that CA.
    const stationText = await scrapeTls(`${srv.url}/metrics`, await readFile(join(work, 'pki', 'ca.pem'), 'utf8'));
    const adminRes = await fetch(new URL('/metrics', srv.server.admin.dashboard), { headers: { authorization: `Bearer ${key}` } });
    expect(adminRes.status).toBe(200);
    const exported = new Set([...`${stationText}\n${await adminRes.text()}`.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    expect(exported.has('bscups_update_info_requests_total')).toBe(true);

    const used = new Set([...rules.matchAll(/\bbscups_[a-z0-9_]+/g)].map((m) => m[0]));
    expect(used.size).toBeGreaterThanOrEqual(8);
    const missing = [...used].filter((name) => !exported.has(name));
    expect(missing, 'metrics named in docs/prometheus/alerts.yml that no /metrics exports').toEqual([]);
  });
});

async function scrapeTls(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    })
      .on('error', reject)
      .end();
  });
}
