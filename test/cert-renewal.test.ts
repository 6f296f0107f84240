import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { renewExpiringCertificates, type RenewalDeps } from '../src/operations/cert-renewal.js';
import { localActor } from '../src/operations/context.js';
import { loadStationCa } from '../src/operations/credential-rotate.js';
import { registerStation } from '../src/operations/stations.js';
import { certificateFingerprint } from '../src/pki/index.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { createSimulatedStation } from '../src/simulator/index.js';
import { adminClient } from './support/admin-client.js';
import { bscupsJson } from './support/cli-in-process.js';
import { LogLines } from './support/log-lines.js';
import { startTestServer, type TestServer } from './support/server.js';

// serve --renew-station-certs-before: a station whose client certificate is about
// to expire is moved to a new one through CUPS, over real mutual TLS with the
// simulator, without a lock-out; the pacing and the once-only guard are checked
// on the operation with an injected clock.

const DAY = 86_400_000;
const STATIONS = ['0016C001FF10B001', '0016C001FF10B002', '0016C001FF10B003'];

let work: string;
let pki: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-renewal-'));
  pki = join(work, 'pki');
  // A server certificate with 20 days left: serve must say so at start.
  await bscupsJson(['pki', 'init', '--dir', pki, '--valid-days', '20']);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('serve --renew-station-certs-before over mutual TLS', () => {
  let srv: TestServer;
  const logs = new LogLines();
  const renewedLine = (l: Record<string, unknown>) => l['msg'] === 'station certificate renewed: offered on its next call';

  beforeAll(async () => {
    srv = await startTestServer({
      allowUnauthenticated: false,
      tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
      serve: { pkiDir: pki },
      // Certificates of 1 day are due under a 2-day threshold; two renewals a minute leave the third for later.
      config: { renewStationCertsBefore: '2d', maxOffersPerMinute: 2, rolloutInterval: 0.1 },
      logger: pino({ level: 'info' }, logs),
    });
  });

  afterAll(async () => {
    await srv.stop();
  });

  it('warns at start that the server certificate expires within 30 days', () => {
    const warning = logs.lines.find((l) => String(l['msg']).startsWith('the server certificate expires in'));
    expect(warning).toMatchObject({ level: 40, daysLeft: 19, certificate: join(pki, 'server.pem') });
    expect(String(warning?.['msg'])).toContain('bscups pki init --force');
  });

  it('offers new certificates to expiring mtls stations, paced, and retires the old one once the station uses the new one', async () => {
    const api = adminClient(srv.server.admin.url);
    const key = srv.server.admin.firstAdminKey as string;
    const homes = new Map<string, string>();
    const firstTwo = [logs.next(renewedLine), logs.next((l) => renewedLine(l) && l['eui'] !== logs.lines.find(renewedLine)?.['eui'])];
    // When the pacing holds a due station back, the renewals of the last minute were two.
    const paced = logs.next((l) => String(l['msg']).startsWith('more station certificates are due for renewal')).then(() => logs.lines.filter(renewedLine).length);
    for (const eui of STATIONS) {
      expect((await api('POST', '/stations', key, { eui })).status).toBe(201);
      const issued = await api('POST', `/stations/${eui}/issue-cert`, key, { validDays: 1, files: true });
      expect(issued.status).toBe(200);
      const home = join(work, eui);
      await mkdir(home);
      const files = issued.body.stationFiles[0];
      for (const part of ['trust', 'crt', 'key'] as const) await writeFile(join(home, `cups.${part}`), Buffer.from(files[part], 'base64'));
      await writeFile(join(home, 'cups.uri'), srv.url);
      homes.set(eui, home);
    }
    const original = new Map<string, string>();
    for (const eui of STATIONS) {
      original.set(eui, certificateFingerprint(await readFile(join(homes.get(eui) as string, 'cups.crt'))));
      // The first call proves the issued certificate: the station is in mtls mode from then on, and due.
      expect(await createSimulatedStation({ home: homes.get(eui) as string, eui }).exchange()).toMatchObject({ status: 200, nothingToChange: true });
      expect((await srv.runtime.registry.getStationAuth(eui))?.mode).toBe('mtls');
    }
    await Promise.all(firstTwo);
    expect(await paced).toBe(2);
    const pending = await Promise.all(STATIONS.map(async (eui) => ((await srv.runtime.registry.getStationAuth(eui))?.rotations.length ?? 0) > 0));
    const renewed = STATIONS.filter((_, i) => pending[i]);
    // The third waits for the next minute (unless this machine took that long to get here).
    const waiting = STATIONS.find((_, i) => !pending[i]);
    expect(renewed.length).toBeGreaterThanOrEqual(2);

    for (const eui of renewed) {
      const station = createSimulatedStation({ home: homes.get(eui) as string, eui });
      const delivered = await station.exchange();
      expect(delivered).toMatchObject({ status: 200, ok: true });
      expect(delivered.applied).toEqual(['cupsCred']);
      const crt = await readFile(join(homes.get(eui) as string, 'cups.crt'));
      const fingerprint = certificateFingerprint(crt);
      expect(fingerprint).not.toBe(original.get(eui));
      expect((new Date(new X509Certificate(crt).validTo).getTime() - Date.now()) / DAY).toBeGreaterThan(3000);
      // Until the station authenticates with the new certificate, the old one still opens it.
      expect((await srv.runtime.registry.getStationAuth(eui))?.certificates.find((c) => c.fingerprint === original.get(eui))?.status).toBe('active');
      expect(await station.exchange()).toMatchObject({ status: 200, nothingToChange: true });
      const auth = await srv.runtime.registry.getStationAuth(eui);
      expect(auth?.rotations).toEqual([]);
      expect(auth?.mode).toBe('mtls');
      expect(auth?.certificates.map((c) => [c.fingerprint, c.status, c.retiredReason])).toEqual([
        [original.get(eui), 'retired', 'rotated'],
        [fingerprint, 'active', null],
      ]);
    }
    // The station not renewed yet still works with the certificate it has.
    if (waiting !== undefined) expect(await createSimulatedStation({ home: homes.get(waiting) as string, eui: waiting }).exchange()).toMatchObject({ status: 200, nothingToChange: true });

    const audit = await api('GET', '/audit?action=credential.renew', key);
    expect(audit.body.items.map((a: { target: string }) => a.target).sort()).toEqual([...renewed].sort());
    expect(audit.body.items[0]).toMatchObject({ actor: 'server:certificate-renewal', via: 'server' });
    expect(audit.body.items[0].detail).toMatchObject({ category: 'cups' });
    expect(JSON.stringify(audit.body.items)).not.toContain('PRIVATE KEY');
  }, 180_000);
});

describe('renewal passes with an injected clock', () => {
  let runtime: Runtime;
  let deps: RenewalDeps;
  let now = new Date('2030-01-01T00:00:00Z');
  const due = ['0016C001FF10C001', '0016C001FF10C002', '0016C001FF10C003'];
  const LATER = '0016C001FF10C004'; // expires after the threshold
  const EXPIRED = '0016C001FF10C005'; // already expired: cannot fetch a new one
  const TOKEN = '0016C001FF10C006'; // token mode with a leftover certificate

  beforeAll(async () => {
    const dir = join(work, 'passes');
    runtime = await openRuntime(loadConfig({ database: join(dir, 'registry.sqlite'), blobs: join(dir, 'blobs') }, {}));
    deps = { registry: runtime.registry, fleet: runtime.fleet, access: runtime.access, rollouts: runtime.rollouts, blobs: runtime.blobs, clock: () => now, stationCa: () => loadStationCa(pki) };
    const ctx = { ...deps, actor: localActor() };
    const expiries: [string, number, 'mtls' | 'token'][] = [
      [due[0] as string, 1 * DAY, 'mtls'],
      [due[1] as string, 2 * DAY, 'mtls'],
      [due[2] as string, 3 * DAY, 'mtls'],
      [LATER, 40 * DAY, 'mtls'],
      [EXPIRED, -DAY, 'mtls'],
      [TOKEN, DAY, 'token'],
    ];
    for (const [eui, left, mode] of expiries) {
      await registerStation(ctx, { eui });
      await runtime.registry.addCertificate(eui, { fingerprint: eui.toLowerCase().padEnd(64, '0'), category: 'cups', credCrc: 7, notAfter: new Date(now.getTime() + left) }, now);
      await runtime.registry.setAuthMode(eui, mode, now);
    }
  });

  afterAll(async () => {
    await runtime.close();
  });

  it('starts at most the allowed renewals per minute, soonest first, and only for due mtls stations', async () => {
    const policy = { beforeMs: 30 * DAY, maxPerMinute: 2 };
    const starts: number[] = [];
    const first = await renewExpiringCertificates(deps, policy, starts);
    expect(first.renewed.map((r) => r.eui)).toEqual([due[0], due[1]]);
    expect(first.deferred).toBe(true);
    now = new Date(now.getTime() + 59_000);
    expect(await renewExpiringCertificates(deps, policy, starts)).toEqual({ renewed: [], skipped: [], deferred: true });
    now = new Date(now.getTime() + 2_000);
    const third = await renewExpiringCertificates(deps, policy, starts);
    expect(third.renewed.map((r) => r.eui)).toEqual([due[2]]);
    expect(third.renewed[0]).toMatchObject({ replaces: (due[2] as string).toLowerCase().padEnd(64, '0') });
    now = new Date(now.getTime() + 61_000);
    // Pending renewals are not renewed again; the later, expired and token stations never were.
    expect(await renewExpiringCertificates(deps, policy, starts)).toEqual({ renewed: [], skipped: [], deferred: false });
    for (const eui of [LATER, EXPIRED, TOKEN]) expect((await runtime.registry.getStationAuth(eui))?.rotations).toEqual([]);
    const audit = await runtime.access.queryAudit({ action: 'credential.renew', limit: 10 });
    expect(audit.items.map((a) => a.target).sort()).toEqual([...due].sort());
  });

  it('renews a station once when two servers pass at the same moment', async () => {
    const policy = { beforeMs: 60 * DAY, maxPerMinute: 100 };
    // LATER is due under a 60-day threshold; two replicas see it at once.
    const [a, b] = await Promise.all([renewExpiringCertificates(deps, policy, []), renewExpiringCertificates(deps, policy, [])]);
    expect([...a.renewed, ...b.renewed].map((r) => r.eui)).toEqual([LATER]);
    expect([...a.skipped, ...b.skipped].map((s) => s.eui)).toEqual([LATER]);
    const auth = await runtime.registry.getStationAuth(LATER);
    expect(auth?.certificates.filter((c) => c.status === 'active')).toHaveLength(2);
  });
});
